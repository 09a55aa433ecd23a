-- market_file.csv landed (macros/stage_export_file.sql): English names,
-- canonical labels (joined from the label_map seed: one hash join per
-- labelled column, not a lookup per row), numbers parsed strictly (see
-- macros/parse_numbers.sql), and the file and line of every row.
{{ stage_export_file(
    'market_file',
    columns={
        'Покупательская активность': 'activity_label_raw',
        'Тип сервиса': 'service_type_raw',
        'Разрешить сообщать': 'allow_messages_raw',
        'Популярная_категория': 'favourite_category_raw',
        'Маркет_актив_6_мес': 'marketing_activity_6m_as_read',
        'Маркет_актив_тек_мес': 'marketing_activity_current_month_as_read',
        'Длительность': 'tenure_days_as_read',
        'Акционные_покупки': 'promo_purchase_share_as_read',
        'Средний_просмотр_категорий_за_визит':
            'avg_categories_per_visit_as_read',
        'Неоплаченные_продукты_штук_квартал': 'unpaid_items_quarter_as_read',
        'Ошибка_сервиса': 'service_errors_as_read',
        'Страниц_за_визит': 'pages_per_visit_as_read',
    },
    numbers={
        'customer_id': 'bigint',
        'marketing_activity_6m': 'double',
        'marketing_activity_current_month': 'integer',
        'tenure_days': 'integer',
        'promo_purchase_share': 'double',
        'avg_categories_per_visit': 'integer',
        'unpaid_items_quarter': 'integer',
        'service_errors': 'integer',
        'pages_per_visit': 'integer',
    },
    labels={
        'activity': 'activity_label_raw',
        'service_type': 'service_type_raw',
        'allow_messages': 'allow_messages_raw',
        'favourite_category': 'favourite_category_raw',
    },
    outputs=[
        'customer_id',
        (
            'activity_declined',
            "activity_labels.canonical_label = 'declined'",
        ),
        ('service_type', 'service_type_labels.canonical_label'),
        ('allow_messages', "allow_messages_labels.canonical_label = 'да'"),
        'marketing_activity_6m', 'marketing_activity_current_month',
        'tenure_days', 'promo_purchase_share',
        ('favourite_category', 'favourite_category_labels.canonical_label'),
        'avg_categories_per_visit', 'unpaid_items_quarter',
        'service_errors', 'pages_per_visit',
        'activity_label_raw', 'service_type_raw', 'allow_messages_raw',
        'favourite_category_raw',
    ],
) }}

with

source as (
    select * from {{ source('shop_export', 'market_file') }}
),

renamed as (
    select
        id as customer_id,
        "Покупательская активность" as activity_label_raw,
        "Тип сервиса" as service_type_raw,
        "Разрешить сообщать" as allow_messages_raw,
        "Популярная_категория" as favourite_category_raw,
        "Маркет_актив_6_мес" as marketing_activity_6m,
        "Маркет_актив_тек_мес" as marketing_activity_current_month,
        "Длительность" as tenure_days,
        "Акционные_покупки" as promo_purchase_share,
        "Средний_просмотр_категорий_за_визит" as avg_categories_per_visit,
        "Неоплаченные_продукты_штук_квартал" as unpaid_items_quarter,
        "Ошибка_сервиса" as service_errors,
        "Страниц_за_визит" as pages_per_visit,
        parse_filename(filename) as source_file,
        -- insertion order is preserved, so this is the line in the file
        row_number() over () + 1 as source_line
    from source
),

recoded as (
    select
        customer_id,
        {{ map_label('activity', 'activity_label_raw') }} = 'declined'
            as activity_declined,
        {{ map_label('service_type', 'service_type_raw') }} as service_type,
        {{ map_label('allow_messages', 'allow_messages_raw') }} = 'да'
            as allow_messages,
        marketing_activity_6m,
        marketing_activity_current_month,
        tenure_days,
        promo_purchase_share,
        {{ map_label('favourite_category', 'favourite_category_raw') }}
            as favourite_category,
        avg_categories_per_visit,
        unpaid_items_quarter,
        service_errors,
        pages_per_visit,
        activity_label_raw,
        service_type_raw,
        allow_messages_raw,
        favourite_category_raw,
        source_file,
        source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from renamed
)

select * from recoded

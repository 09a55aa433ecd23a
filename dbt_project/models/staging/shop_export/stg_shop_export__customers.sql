-- market_file.csv landed: English names, canonical labels (joined from the
-- label_map seed: one hash join per labelled column, not a lookup per row),
-- numbers parsed strictly (see macros/parse_numbers.sql), and the file and
-- line of every row.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set numbers = {
    'customer_id': 'bigint',
    'marketing_activity_6m': 'double',
    'marketing_activity_current_month': 'integer',
    'tenure_days': 'integer',
    'promo_purchase_share': 'double',
    'avg_categories_per_visit': 'integer',
    'unpaid_items_quarter': 'integer',
    'service_errors': 'integer',
    'pages_per_visit': 'integer',
} %}
{%- set labels = {
    'activity': 'activity_label_raw',
    'service_type': 'service_type_raw',
    'allow_messages': 'allow_messages_raw',
    'favourite_category': 'favourite_category_raw',
} %}

with

source as (
    select * from {{ source('shop_export', 'market_file') }}
),

{% for field in labels %}
    {{ field }}_labels as (
        select
            raw_label,
            canonical_label
        from {{ ref('label_map') }}
        where field = '{{ field }}'
    ),
{% endfor %}

renamed as (
    select
        id as customer_id_as_read,
        {{ adapter.quote('Покупательская активность') }} as activity_label_raw,
        {{ adapter.quote('Тип сервиса') }} as service_type_raw,
        {{ adapter.quote('Разрешить сообщать') }} as allow_messages_raw,
        {{ adapter.quote('Популярная_категория') }} as favourite_category_raw,
        {{ adapter.quote('Маркет_актив_6_мес') }}
            as marketing_activity_6m_as_read,
        {{ adapter.quote('Маркет_актив_тек_мес') }}
            as marketing_activity_current_month_as_read,
        {{ adapter.quote('Длительность') }} as tenure_days_as_read,
        {{ adapter.quote('Акционные_покупки') }}
            as promo_purchase_share_as_read,
        {{ adapter.quote('Средний_просмотр_категорий_за_визит') }}
            as avg_categories_per_visit_as_read,
        {{ adapter.quote('Неоплаченные_продукты_штук_квартал') }}
            as unpaid_items_quarter_as_read,
        {{ adapter.quote('Ошибка_сервиса') }} as service_errors_as_read,
        {{ adapter.quote('Страниц_за_визит') }} as pages_per_visit_as_read,
        -- one file per source table: its name is known before reading,
        -- so no per-row path column is read and parsed
        '{{ export_file_name('market_file') }}' as source_file,
        -- the reader's row number (`with ordinality` in the source): the
        -- line in the file, header being line 1
        ordinality + 1 as source_line
    from source
),

checked as (
    select
        *,
        {{ number_checks(numbers) }}
    from renamed
),

recoded as (
    select
        {{ parsed_number('customer_id', 'bigint') }} as customer_id,
        activity_labels.canonical_label = 'declined' as activity_declined,
        service_type_labels.canonical_label as service_type,
        allow_messages_labels.canonical_label = 'да' as allow_messages,
        {%- for name in [
            'marketing_activity_6m', 'marketing_activity_current_month',
            'tenure_days', 'promo_purchase_share',
        ] %}
            {{ parsed_number(name, numbers[name]) }} as {{ name }},
        {%- endfor %}
        favourite_category_labels.canonical_label as favourite_category,
        {%- for name in [
            'avg_categories_per_visit', 'unpaid_items_quarter',
            'service_errors', 'pages_per_visit',
        ] %}
            {{ parsed_number(name, numbers[name]) }} as {{ name }},
        {%- endfor %}
        checked.activity_label_raw,
        checked.service_type_raw,
        checked.allow_messages_raw,
        checked.favourite_category_raw,
        {{ invalid_numbers(numbers) }} as invalid_values,
        checked.source_file,
        checked.source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from checked
    {%- for field, column in labels.items() %}
    left join {{ field }}_labels
        on checked.{{ column }} = {{ field }}_labels.raw_label
    {%- endfor %}
)

select * from recoded

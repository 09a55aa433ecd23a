-- Every record the warehouse excluded, changed or flagged, one row per record
-- and reason, with the raw value kept. Nothing leaves the mart silently.

with

customers as (
    select * from {{ ref('int_customers_flagged_for_duplicates') }}
),

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

{#- Reasons that concern a whole record (no month): name, action, which
    records, and the detail. #}
{%- set record_reasons = [
    (
        'repeated_id', 'excluded', 'n_records_with_id > 1',
        "'id appears ' || n_records_with_id || ' times in "
        ~ export_file_name('market_file')
        ~ "; every copy is kept out of the mart'",
    ),
    (
        'possible_duplicate', 'flagged',
        'duplicate_group_size > 1 and n_records_with_id = 1',
        "'identical to ' || (duplicate_group_size - 1)
        || ' other record(s) on every attribute, revenue and minutes but '
        || 'the id (group ' || duplicate_group_id || ')'",
    ),
] %}
{%- for reason, action, condition, detail in record_reasons %}

    {{ reason }} as (
        select
            customer_id,
            '{{ reason }}' as reason,
            '{{ action }}' as action,
            '{{ export_file_name('market_file') }}' as source_file,
            source_line,
            cast(null as string) as period,
            cast(null as double) as raw_value,
            cast(null as double) as robust_value,
            duplicate_group_id,
            {{ detail }} as detail
        from customers
        where {{ condition }}
    ),
{%- endfor %}

inactive as (
    {%- for period in revenue_periods() %}
        select
            customer_id,
            'inactive_zero_revenue' as reason,
            'excluded' as action,
            'market_money.csv' as source_file,
            source_line_{{ period }} as source_line,
            '{{ period }}' as period,
            revenue_{{ period }}_raw as raw_value,
            cast(null as double) as robust_value,
            cast(null as bigint) as duplicate_group_id,
            'zero revenue in {{ period }}: not a regular customer' as detail
        from revenues
        where revenue_{{ period }}_raw = 0
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

-- A replaced month says by how much it exceeded what; a customer with no
-- plausible month left is excluded instead (robust value null).
implausible as (
    {%- set n_periods = revenue_periods() | length %}
    {%- set extreme_ratio = var('revenue_outlier_extreme_ratio', 1000) %}
    {%- for period in revenue_periods() %}
        select
            customer_id,
            'implausible_revenue' as reason,
            case
                when n_implausible_months = {{ n_periods }} then 'excluded'
                else 'replaced'
            end as action,
            'market_money.csv' as source_file,
            source_line_{{ period }} as source_line,
            '{{ period }}' as period,
            revenue_{{ period }}_raw as raw_value,
            case
                when n_implausible_months < {{ n_periods }}
                    then revenue_{{ period }}
            end as robust_value,
            cast(null as bigint) as duplicate_group_id,
            'revenue '
            || {{ readable_number('revenue_' ~ period ~ '_raw') }}
            || ' in {{ period }} is over '
            || case
                when n_implausible_months = {{ n_periods }}
                    then {{ extreme_ratio }}
                        || 'x the month''s median ('
                        || {{ readable_number('population_median_' ~ period) }}
                        || '), as is every other month: no plausible month '
                        || 'left, the customer is kept out of the mart'
                when
                    revenue_{{ period }}_raw
                    > {{ extreme_ratio }} * population_median_{{ period }}
                    then {{ extreme_ratio }}
                        || 'x the month''s median ('
                        || {{ readable_number('population_median_' ~ period) }}
                        || '); replaced by their plausible months'' median'
                else
                    {{ var('revenue_outlier_population_ratio', 5) }}
                    || 'x the month''s median ('
                    || {{ readable_number('population_median_' ~ period) }}
                    || ') and over '
                    || {{ var('revenue_outlier_own_ratio', 3) }}
                    || 'x the customer''s other months (max '
                    || {{ readable_number(
                        'own_max_other_months_' ~ period) }}
                    || '); replaced by their median'
            end as detail
        from revenues
        where is_implausible_{{ period }}
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

unioned as (
    select * from repeated_id
    union all
    select * from inactive
    union all
    select * from implausible
    union all
    select * from possible_duplicate
),

final as (
    select
        *,
        cast('{{ run_started_at }}' as timestamp) as audited_at
    from unioned
)

select * from final

-- Every record the warehouse excluded, changed or flagged, one row per record
-- and reason, with the raw value kept. Nothing leaves the mart silently.

with

customers as (
    select * from {{ ref('int_customers_flagged_for_duplicates') }}
),

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

repeated_ids as (
    select
        customer_id,
        'repeated_id' as reason,
        'excluded' as action,
        source_file,
        source_line,
        cast(null as varchar) as period,
        cast(null as double) as raw_value,
        cast(null as double) as robust_value,
        duplicate_group_id,
        'id appears ' || n_records_with_id || ' times in ' || source_file
        || '; every copy is kept out of the mart' as detail
    from customers
    where n_records_with_id > 1
),

inactive as (
    select
        revenues.customer_id,
        'inactive_zero_revenue' as reason,
        'excluded' as action,
        revenues.source_file,
        revenues.source_line,
        revenues.period,
        revenues.revenue_raw as raw_value,
        cast(null as double) as robust_value,
        cast(null as bigint) as duplicate_group_id,
        'zero revenue in ' || revenues.period
        || ': not a regular customer' as detail
    from revenues
    where revenues.revenue_raw = 0
),

implausible as (
    select
        customer_id,
        'implausible_revenue' as reason,
        'replaced' as action,
        source_file,
        source_line,
        period,
        revenue_raw as raw_value,
        revenue as robust_value,
        cast(null as bigint) as duplicate_group_id,
        'revenue ' || revenue_raw || ' in ' || period || ' is over '
        || {{ var('revenue_outlier_population_ratio', 5) }}
        || 'x the month''s median (' || population_median || ') and over '
        || {{ var('revenue_outlier_own_ratio', 3) }}
        || 'x the customer''s other months (max ' || own_max_other_months
        || '); replaced by their median' as detail
    from revenues
    where is_implausible
),

possible_duplicates as (
    select
        customer_id,
        'possible_duplicate' as reason,
        'flagged' as action,
        source_file,
        source_line,
        cast(null as varchar) as period,
        cast(null as double) as raw_value,
        cast(null as double) as robust_value,
        duplicate_group_id,
        'identical to ' || (duplicate_group_size - 1)
        || ' other record(s) on every attribute, revenue and minutes but '
        || 'the id (group ' || duplicate_group_id || ')' as detail
    from customers
    where duplicate_group_size > 1 and n_records_with_id = 1
),

unioned as (
    select * from repeated_ids
    union all
    select * from inactive
    union all
    select * from implausible
    union all
    select * from possible_duplicates
),

final as (
    select
        *,
        cast('{{ run_started_at }}' as timestamp) as audited_at
    from unioned
)

select * from final

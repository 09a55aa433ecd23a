-- Nothing leaves the mart silently: every customer of market_file.csv is
-- either in the mart or in the audit with action 'excluded' (never both).

with

customers as (
    select distinct customer_id
    from {{ ref('stg_shop_export__customers') }}
),

mart as (
    select customer_id from {{ ref('customer_features') }}
),

excluded as (
    select distinct customer_id
    from {{ ref('customer_audit') }}
    where action = 'excluded'
),

final as (
    select
        customers.customer_id,
        mart.customer_id is not null as in_mart,
        excluded.customer_id is not null as excluded_in_audit
    from customers
    left join mart on customers.customer_id = mart.customer_id
    left join excluded on customers.customer_id = excluded.customer_id
)

select * from final
where in_mart = excluded_in_audit

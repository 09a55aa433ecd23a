-- Regular customers only: revenue above zero in each of the three months,
-- and a single record under the id. Everyone else is listed, with the
-- reason, in `customer_audit`.

with

customers as (
    select * from {{ ref('int_customers_flagged_for_duplicates') }}
),

active as (
    select *
    from customers
    where
        n_records_with_id = 1
        {%- for period in revenue_periods() %}
            and revenue_{{ period }}_raw > 0
        {%- endfor %}
)

select * from active

-- Revenue per customer as exported, one column per month, as portable
-- conditional aggregates (no engine-specific PIVOT), with the line of each
-- value in market_money.csv for the audit.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set periods = revenue_periods() %}

with

revenues as (
    -- an id that did not parse is null here; assert_export_numbers_are_valid
    -- names it, and it stays out of every later model
    select * from {{ ref('stg_shop_export__monthly_revenues') }}
    where customer_id is not null
),

pivoted as (
    select
        customer_id,
        {%- for period in periods %}
            max(case when period = '{{ period }}' then revenue end)
                as revenue_{{ period }}_raw,
            max(case when period = '{{ period }}' then source_line end)
                as source_line_{{ period }},
        {%- endfor %}
        count(case when revenue = 0 then 1 end) as n_zero_revenue_months
    from revenues
    group by customer_id
)

select * from pivoted

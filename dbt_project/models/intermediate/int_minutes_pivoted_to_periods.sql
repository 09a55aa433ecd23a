-- Minutes on the site per customer in one column per month, as portable
-- conditional aggregates.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set periods = minutes_periods() %}

with

minutes as (
    -- an id that did not parse is null here; assert_export_numbers_are_valid
    -- names it, and it stays out of every later model
    select * from {{ ref('stg_shop_export__monthly_minutes') }}
    where customer_id is not null
),

pivoted as (
    select
        customer_id,
        {%- for period in periods %}
            max(case when period = '{{ period }}' then minutes end)
                as minutes_{{ period }},
        {%- endfor %}
        count(*) as n_months_reported
    from minutes
    group by customer_id
)

select * from pivoted

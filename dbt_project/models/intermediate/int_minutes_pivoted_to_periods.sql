-- Minutes on the site per customer in one column per month, as portable
-- conditional aggregates.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set periods = minutes_periods() %}

with

minutes as (
    select * from {{ ref('stg_shop_export__monthly_minutes') }}
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

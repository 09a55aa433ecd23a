-- Revenue per customer in three columns, one per month, as portable
-- conditional aggregates (no engine-specific PIVOT), with the raw value kept
-- beside the robust one.
{%- set periods = revenue_periods() %}

with

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

pivoted as (
    select
        customer_id,
        {%- for period in periods %}
            max(case when period = '{{ period }}' then revenue end)
                as revenue_{{ period }},
            max(case when period = '{{ period }}' then revenue_raw end)
                as revenue_{{ period }}_raw,
        {%- endfor %}
        count(case when revenue_raw = 0 then 1 end) as n_zero_revenue_months,
        count(case when is_implausible then 1 end) as n_implausible_months
    from revenues
    group by customer_id
)

select * from pivoted

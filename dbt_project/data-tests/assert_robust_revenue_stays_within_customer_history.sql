-- A replaced (implausible) revenue must end up inside the range of the
-- customer's other months, or the rule made things worse.
{%- set periods = revenue_periods() %}

with

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

replaced as (
    {%- for period in periods %}
        {%- set others = periods | reject('equalto', period) | list %}
        select
            customer_id,
            '{{ period }}' as period,
            revenue_{{ period }} as revenue,
            least(
                revenue_{{ others[0] }}_raw, revenue_{{ others[1] }}_raw
            ) as own_min,
            own_max_other_months_{{ period }} as own_max
        from revenues
        where is_implausible_{{ period }}
        {{ "union all" if not loop.last }}
    {%- endfor %}
)

select * from replaced
where revenue < own_min or revenue > own_max

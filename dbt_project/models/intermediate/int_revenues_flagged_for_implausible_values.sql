-- Robust monthly revenue per customer (wide, one column per month).
--
-- Rule: a month's revenue is implausible when it is more than
-- `revenue_outlier_population_ratio` times the population median of that
-- month AND more than `revenue_outlier_own_ratio` times the customer's own
-- largest revenue in the other months. Both conditions guard against
-- flagging a big but consistent spender, or a month that is high for
-- everyone. A month over `revenue_outlier_extreme_ratio` times the
-- population median is implausible on its own: a customer whose every month
-- is that far out (1e15 three times) has no normal month to compare with,
-- yet is no less implausible. The robust value is the median of the
-- customer's plausible other months (with two, their mean; with one, that
-- month). With no plausible month left the raw values stay and
-- int_customers_filtered_to_active keeps the customer out of the mart
-- (audited as excluded). The extreme rule needs a positive median: a month
-- whose median is zero has no scale to judge by. Worked in wide form so "the
-- other months" are plain columns: no self-join, portable SQL.
{%- set periods = revenue_periods() %}
{%- if periods | length != 3 %}
    {{ exceptions.raise_compiler_error(
        'the implausible-revenue rule assumes three months (two others)'
    ) }}
{%- endif %}
{%- set population_ratio = var('revenue_outlier_population_ratio', 5) %}
{%- set own_ratio = var('revenue_outlier_own_ratio', 3) %}
{%- set extreme_ratio = var('revenue_outlier_extreme_ratio', 1000) %}

with

revenues as (
    select * from {{ ref('int_revenues_pivoted_to_periods') }}
),

-- The model again, not the CTE above: DuckDB would keep a CTE read twice
-- in memory, every row of it, where the medians need one streaming pass.
population as (
    select
        {%- for period in periods %}
            median(revenue_{{ period }}_raw) as median_{{ period }},
        {%- endfor %}
        count(*) as n_customers
    from {{ ref('int_revenues_pivoted_to_periods') }}
),

-- The pivot's values, lines and zero months (not its row counts, which its
-- test one_row_per_period has checked).
with_history as (
    select
        revenues.customer_id,
        {%- for period in periods %}
            revenues.revenue_{{ period }}_raw,
            revenues.source_line_{{ period }},
        {%- endfor %}
        revenues.n_zero_revenue_months,
        {%- for period in periods %}
            {%- set others = periods | reject('equalto', period) | list %}
            population.median_{{ period }} as population_median_{{ period }},
            greatest(
                revenues.revenue_{{ others[0] }}_raw,
                revenues.revenue_{{ others[1] }}_raw
            ) as own_max_other_months_{{ period }},
            (
                revenues.revenue_{{ others[0] }}_raw
                + revenues.revenue_{{ others[1] }}_raw
            ) / 2 as own_median_other_months_{{ period }},
        {%- endfor %}
        population.n_customers as population_n_customers
    from revenues
    cross join population
),

flagged as (
    select
        {%- for period in periods %}
            coalesce(
                (
                    revenue_{{ period }}_raw
                    > {{ population_ratio }} * population_median_{{ period }}
                    and revenue_{{ period }}_raw
                    > {{ own_ratio }} * own_max_other_months_{{ period }}
                )
                or (
                    population_median_{{ period }} > 0
                    and revenue_{{ period }}_raw
                    > {{ extreme_ratio }} * population_median_{{ period }}
                ),
                false
            ) as is_implausible_{{ period }},
        {%- endfor %}
        with_history.*
    from with_history
),

final as (
    select
        *,
        {%- for period in periods %}
            {%- set others = periods | reject('equalto', period) | list %}
            case
                when not is_implausible_{{ period }}
                    then revenue_{{ period }}_raw
                when
                    not is_implausible_{{ others[0] }}
                    and not is_implausible_{{ others[1] }}
                    then own_median_other_months_{{ period }}
                when not is_implausible_{{ others[0] }}
                    then revenue_{{ others[0] }}_raw
                when not is_implausible_{{ others[1] }}
                    then revenue_{{ others[1] }}_raw
                -- no plausible month: kept as is, the customer is excluded
                else revenue_{{ period }}_raw
            end as revenue_{{ period }},
        {%- endfor %}
        {% for period in periods -%}
            cast(is_implausible_{{ period }} as integer)
            {{- " + " if not loop.last }}
        {%- endfor %} as n_implausible_months
    from flagged
)

select * from final

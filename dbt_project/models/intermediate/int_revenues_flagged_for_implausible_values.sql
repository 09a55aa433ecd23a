-- One row per customer and month with the revenue as exported, whether it is
-- implausible, and the robust value the mart uses.
--
-- Rule: a month's revenue is implausible when it is more than
-- `revenue_outlier_population_ratio` times the population median of that
-- month AND more than `revenue_outlier_own_ratio` times the customer's own
-- largest revenue in the other months. Both conditions guard against flagging
-- a big but consistent spender, or a month that is high for everyone.
-- The robust value is the median of the customer's other months.
{%- set population_ratio = var('revenue_outlier_population_ratio', 5) %}
{%- set own_ratio = var('revenue_outlier_own_ratio', 3) %}

with

revenues as (
    select * from {{ ref('stg_shop_export__monthly_revenues') }}
),

population as (
    select
        period,
        median(revenue) as population_median
    from revenues
    group by period
),

own_history as (
    select
        this_month.customer_id,
        this_month.period,
        max(other_month.revenue) as own_max_other_months,
        median(other_month.revenue) as own_median_other_months
    from revenues as this_month
    inner join revenues as other_month
        on
            this_month.customer_id = other_month.customer_id
            and this_month.period != other_month.period
    group by this_month.customer_id, this_month.period
),

flagged as (
    select
        revenues.customer_id,
        revenues.period,
        revenues.revenue as revenue_raw,
        population.population_median,
        own_history.own_max_other_months,
        own_history.own_median_other_months,
        coalesce(
            revenues.revenue
            > {{ population_ratio }} * population.population_median
            and revenues.revenue
            > {{ own_ratio }} * own_history.own_max_other_months,
            false
        ) as is_implausible,
        revenues.source_file,
        revenues.source_line
    from revenues
    inner join population on revenues.period = population.period
    left join own_history
        on
            revenues.customer_id = own_history.customer_id
            and revenues.period = own_history.period
),

final as (
    select
        *,
        case
            when is_implausible then own_median_other_months
            else revenue_raw
        end as revenue
    from flagged
)

select * from final

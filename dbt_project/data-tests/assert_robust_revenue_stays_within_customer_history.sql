-- A replaced (implausible) revenue must end up inside the customer's own
-- range of the other months, or the rule made things worse.

with

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

history as (
    select
        customer_id,
        min(revenue_raw) filter (where not is_implausible) as own_min,
        max(revenue_raw) filter (where not is_implausible) as own_max
    from revenues
    group by customer_id
)

select
    revenues.customer_id,
    revenues.period,
    revenues.revenue,
    history.own_min,
    history.own_max
from revenues
inner join history on revenues.customer_id = history.customer_id
where
    revenues.is_implausible
    and (
        revenues.revenue < history.own_min
        or revenues.revenue > history.own_max
    )

-- segment_summary must account for every segmented customer and every
-- rouble of profit and profit at risk, no more and no less.

with

segments as (
    select
        count(*) as n_customers,
        sum(profit) as total_profit,
        sum(profit_at_risk) as total_profit_at_risk
    from {{ ref('customer_segments') }}
),

summary as (
    select
        sum(n_customers) as n_customers,
        sum(total_profit) as total_profit,
        sum(total_profit_at_risk) as total_profit_at_risk,
        sum(customer_share) as total_share
    from {{ ref('segment_summary') }}
)

select
    segments.*,
    summary.n_customers as summary_n_customers,
    summary.total_profit as summary_total_profit,
    summary.total_profit_at_risk as summary_total_profit_at_risk,
    summary.total_share
from segments
cross join summary
where
    segments.n_customers != summary.n_customers
    or abs(segments.total_profit - summary.total_profit) > 1e-6
    or abs(segments.total_profit_at_risk - summary.total_profit_at_risk) > 1e-6
    or abs(summary.total_share - 1) > 1e-9

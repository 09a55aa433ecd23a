-- segment_summary must account for every segmented customer and every
-- rouble of profit and profit at risk, no more and no less.
-- Counts compare exactly. Sums compare with a tolerance relative to their
-- magnitude: DuckDB adds doubles in parallel, so the same sum taken over
-- customers and over segments differs in its last bits from run to run
-- (about 2e-6 on 4.4 M at a million customers). 1e-9 of the magnitude is
-- far above that rounding and far below any real loss: one customer's
-- profit out of a million is ~1e-6 of the total.
{%- set relative_tolerance = var('segment_totals_relative_tolerance', 1e-9) %}

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
),

compared as (
    select
        segments.*,
        summary.n_customers as summary_n_customers,
        summary.total_profit as summary_total_profit,
        summary.total_profit_at_risk as summary_total_profit_at_risk,
        summary.total_share,
        {%- for total in ['total_profit', 'total_profit_at_risk'] %}
            abs(segments.{{ total }} - summary.{{ total }})
            > {{ relative_tolerance }} * greatest(
                abs(segments.{{ total }}), abs(summary.{{ total }}), 1
            ) as {{ total }}_differs,
        {%- endfor %}
        abs(summary.total_share - 1) > 1e-9 as share_differs
    from segments
    cross join summary
)

select * from compared
where
    n_customers != summary_n_customers
    -- a non-finite sum (an inf profit) is never "within tolerance"
    or not {{ is_finite("total_profit + summary_total_profit") }}
    or not {{ is_finite(
        "total_profit_at_risk + summary_total_profit_at_risk"
    ) }}
    or total_profit_differs
    or total_profit_at_risk_differs
    or share_differs

-- The offers of the latest ML run, per channel and offer, with the profit at
-- risk they address and the run they come from. The warehouse keeps no send
-- date: the offers are as fresh as the run, so check run_started_at before
-- sending (segments.customer_recommendations joined to ml.model_runs in
-- plain SQL).

with

recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

runs as (
    select * from {{ ref('stg_ml__model_runs') }}
),

final as (
    select
        recommendations.channel,
        recommendations.offer_code,
        recommendations.offer,
        runs.run_id,
        runs.run_started_at,
        count(distinct recommendations.customer_id) as n_customers,
        round(sum(recommendations.profit_at_risk), 1) as profit_at_risk
    from recommendations
    inner join runs on recommendations.run_id = runs.run_id
    group by
        recommendations.channel,
        recommendations.offer_code,
        recommendations.offer,
        runs.run_id,
        runs.run_started_at
)

select * from final
order by channel asc, n_customers desc

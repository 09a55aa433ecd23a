-- The offers of the latest ML run, per channel and offer, with the profit at
-- risk they address and the run they come from. The warehouse keeps no send
-- date: the offers are as fresh as the run, so check started_at before
-- sending. Written as the one query an analyst would type against the
-- published file (segments.customer_recommendations joined to
-- ml.model_runs), so it can be copied as it stands.

select
    recommendations.channel,
    recommendations.offer_code,
    recommendations.offer,
    runs.run_id,
    runs.started_at,
    count(distinct recommendations.customer_id) as n_customers,
    round(sum(recommendations.profit_at_risk), 1) as profit_at_risk
from {{ ref('customer_recommendations') }} as recommendations
inner join {{ ref('stg_ml__model_runs') }} as runs
    on recommendations.run_id = runs.run_id
group by
    recommendations.channel,
    recommendations.offer_code,
    recommendations.offer,
    runs.run_id,
    runs.started_at
order by recommendations.channel asc, n_customers desc

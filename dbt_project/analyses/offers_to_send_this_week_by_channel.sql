-- Offers to send this week, per channel and offer, with the profit at risk
-- they address (segments.customer_recommendations in plain SQL).

select
    channel,
    offer_code,
    offer,
    count(distinct customer_id) as n_customers,
    round(sum(profit_at_risk), 1) as profit_at_risk
from {{ ref('customer_recommendations') }}
group by channel, offer_code, offer
order by channel asc, n_customers desc

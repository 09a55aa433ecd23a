-- The key segment's customers, most profit at risk first, with why.
-- Runs as plain SQL on the warehouse too: replace the ref() with
-- segments.customer_segments.

select
    customer_id,
    round(p_decline, 3) as p_decline,
    profit,
    round(profit_at_risk, 2) as profit_at_risk,
    reason_1,
    reason_2,
    reason_3
from {{ ref('customer_segments') }}
where is_key_segment
order by profit_at_risk desc
limit 50

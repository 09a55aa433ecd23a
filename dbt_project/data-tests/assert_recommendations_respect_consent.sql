-- A customer who did not allow messages («Разрешить сообщать» = «нет») is
-- never sent an e-mail, SMS or push offer.

select
    recommendations.customer_id,
    recommendations.offer_code,
    recommendations.channel
from {{ ref('customer_recommendations') }} as recommendations
inner join {{ ref('customer_features') }} as customers
    on recommendations.customer_id = customers.customer_id
where not customers.allow_messages and recommendations.channel != 'site'

-- Offers for every at-risk customer, chosen from that customer's own
-- actionable risk drivers (features marked `actionable` in the mart
-- contract, pushing toward decline) matched to the editable offer catalogue
-- (seed `offer_catalogue`: driver, whether its value is high or low, offer,
-- channel). Non-actionable drivers (tenure, past revenue) never become
-- offers. Consent: a customer who does not allow messages only gets on-site
-- offers. One offer per driver: the catalogue row of lowest `priority`
-- among the channels allowed; up to var `max_offers_per_customer` (3).
{%- set max_offers = var('max_offers_per_customer', 3) %}

with

segments as (
    select * from {{ ref('customer_segments') }}
),

drivers as (
    select * from {{ ref('int_risk_drivers_ranked') }}
),

catalogue as (
    select * from {{ ref('offer_catalogue') }}
),

at_risk_drivers as (
    select
        segments.customer_id,
        segments.segment,
        segments.p_decline,
        segments.profit_at_risk,
        segments.allow_messages,
        segments.run_id,
        drivers.feature as driver,
        drivers.feature_level as driver_level,
        drivers.feature_value as driver_value,
        drivers.shap_value as driver_shap_value,
        drivers.reason,
        drivers.actionable_driver_rank
    from segments
    inner join drivers on segments.customer_id = drivers.customer_id
    where
        segments.risk_band = 'high_risk'
        and drivers.actionable_driver_rank is not null
),

consents as (
    select true as allows_messages
    union all
    select false as allows_messages
),

-- The offer each driver gets depends only on the driver, its level and
-- the customer's consent: chosen once per combination in the catalogue (a
-- handful of rows), not by a window over every at-risk customer's drivers.
-- No consent recorded counts as none.
best_offers as (
    select
        catalogue.driver,
        catalogue.driver_level,
        consents.allows_messages,
        catalogue.offer_code,
        catalogue.channel,
        catalogue.offer_{{ reason_language() }} as offer,
        row_number() over (
            partition by
                catalogue.driver,
                catalogue.driver_level,
                consents.allows_messages
            order by catalogue.priority asc, catalogue.offer_code asc
        ) as choice
    from catalogue
    cross join consents
    where consents.allows_messages or catalogue.channel = 'site'
),

eligible_offers as (
    select
        at_risk_drivers.*,
        best_offers.offer_code,
        best_offers.channel,
        best_offers.offer,
        best_offers.choice
    from at_risk_drivers
    inner join best_offers
        on
            at_risk_drivers.driver = best_offers.driver
            and at_risk_drivers.driver_level = best_offers.driver_level
            and coalesce(at_risk_drivers.allow_messages, false)
            = best_offers.allows_messages
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id order by actionable_driver_rank asc
        ) as offer_rank
    from eligible_offers
    where choice = 1
),

final as (
    select
        customer_id,
        offer_rank,
        segment,
        p_decline,
        profit_at_risk,
        driver,
        driver_level,
        driver_value,
        driver_shap_value,
        reason,
        offer_code,
        offer,
        channel,
        allow_messages,
        run_id
    from ranked
    where offer_rank <= {{ max_offers }}
)

select * from final

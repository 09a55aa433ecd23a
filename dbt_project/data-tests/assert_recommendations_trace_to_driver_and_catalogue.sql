-- Every offer traces to one of the customer's own actionable risk drivers
-- (positive SHAP) of the latest run, with that driver's own SHAP value, and
-- to the catalogue row for that driver, level and channel; and only at-risk
-- customers get offers.

with

recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

drivers as (
    select * from {{ ref('int_risk_drivers_ranked') }}
),

catalogue as (
    select * from {{ ref('offer_catalogue') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

latest as (
    select distinct run_id
    from {{ ref('int_predictions_filtered_to_latest_run') }}
)

select
    recommendations.customer_id,
    recommendations.driver,
    recommendations.offer_code,
    drivers.feature is null as no_such_driver,
    recommendations.driver_shap_value != drivers.shap_value as other_shap_value,
    latest.run_id is null as other_run,
    catalogue.offer_code is null as no_such_catalogue_row,
    segments.risk_band
from recommendations
left join drivers
    on
        recommendations.customer_id = drivers.customer_id
        and recommendations.driver = drivers.feature
        and drivers.is_actionable
        and drivers.shap_value > 0
left join catalogue
    on
        recommendations.offer_code = catalogue.offer_code
        and recommendations.driver = catalogue.driver
        and recommendations.driver_level = catalogue.driver_level
        and recommendations.channel = catalogue.channel
left join segments on recommendations.customer_id = segments.customer_id
left join latest on recommendations.run_id = latest.run_id
where
    drivers.feature is null
    or recommendations.driver_shap_value != drivers.shap_value
    or latest.run_id is null
    or catalogue.offer_code is null
    or segments.risk_band != 'high_risk'

-- Why is one customer at risk? Every feature's push toward (+) or away
-- from (−) decline for the latest run, strongest first. Set the id with
-- `dbt compile --vars '{customer_id: 215349}'`, or edit it in plain SQL
-- (intermediate.int_risk_drivers_ranked).

select
    customer_id,
    feature,
    feature_value,
    feature_level,
    round(shap_value, 4) as shap_value,
    reason,
    is_actionable
from {{ ref('int_risk_drivers_ranked') }}
where customer_id = {{ var('customer_id', 215349) }}
order by abs(shap_value) desc

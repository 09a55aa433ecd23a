-- Every reason explains the probability shown beside it: for each customer
-- of the latest run, the base value of the model that produced p_decline
-- plus the customer's SHAP values equals p_decline (within 1e-6, far above
-- double rounding over 16 features, far below any visible difference).
-- A run without SHAP values (ml.score --no-shap) has nothing to check.

with

latest as (
    select * from {{ ref('int_predictions_filtered_to_latest_run') }}
),

shap as (
    select * from {{ ref('stg_ml__shap_values') }}
),

gaps as (
    select
        latest.customer_id,
        latest.p_decline,
        latest.base_value,
        sum(shap.shap_value) as total_shap,
        latest.base_value + sum(shap.shap_value) - latest.p_decline as gap
    from latest
    inner join shap
        on latest.run_id = shap.run_id and latest.customer_id = shap.customer_id
    group by latest.customer_id, latest.p_decline, latest.base_value
)

select * from gaps
where gap is null or abs(gap) > 1e-6

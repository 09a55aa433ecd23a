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

latest_run as (
    select distinct latest.run_id from latest
),

-- The latest run's rows picked by run id: a filter, not a join of 16 M rows
-- to the latest predictions at a million customers (the join below keeps
-- only that run's customers).
shap_totals as (
    select
        shap.run_id,
        shap.customer_id,
        sum(shap.shap_value) as total_shap
    from shap
    where shap.run_id in (select latest_run.run_id from latest_run)
    group by shap.run_id, shap.customer_id
),

gaps as (
    select
        latest.customer_id,
        latest.p_decline,
        latest.base_value,
        shap_totals.total_shap,
        latest.base_value + shap_totals.total_shap - latest.p_decline as gap
    from shap_totals
    inner join latest
        on
            shap_totals.run_id = latest.run_id
            and shap_totals.customer_id = latest.customer_id
)

select * from gaps
where gap is null or abs(gap) > 1e-6

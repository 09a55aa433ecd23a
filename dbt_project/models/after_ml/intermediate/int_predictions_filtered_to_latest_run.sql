-- The predictions of the newest run that wrote any (a training run, or a
-- scoring run of a newer export), with that run's decision threshold: the
-- one place that says which run the published tables show.

with

runs as (
    select * from {{ ref('stg_ml__model_runs') }}
),

predictions as (
    select * from {{ ref('stg_ml__predictions') }}
),

latest_run as (
    select
        runs.run_id,
        runs.threshold
    from runs
    where runs.run_id in (select predictions.run_id from predictions)
    order by runs.started_at desc, runs.run_id desc
    limit 1
),

final as (
    select
        predictions.customer_id,
        predictions.p_decline,
        predictions.predicted_decline,
        predictions.p_source,
        predictions.base_value,
        latest_run.run_id,
        latest_run.threshold
    from predictions
    inner join latest_run on predictions.run_id = latest_run.run_id
)

select * from final

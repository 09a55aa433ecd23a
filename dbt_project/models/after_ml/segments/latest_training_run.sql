-- The newest training run as one row: `select * from
-- segments.latest_training_run` answers "which model is in use, on which
-- data, how good". Every column of ml.model_runs, so it reads the source
-- directly: the column list lives once (ml/contracts/ml_tables.py), and
-- this model's yml is rendered from it (python -m ml.docs.ml_source).
-- A view: always the newest run of the file it lives in, never stale.
{{ config(materialized='view') }}

with

runs as (
    select * from {{ source('ml', 'model_runs') }}
),

training_runs as (
    select *
    from runs
    where run_kind = 'train'
),

latest as (
    select *
    from training_runs
    order by started_at desc, run_id desc
    limit 1
)

select * from latest

-- ml.predictions as the ML step wrote it: every column under the writer's name
-- (ml/contracts/ml_tables.py), the one vocabulary of dbt models, reports
-- and analysts' queries.
{{ ml_staging_select('predictions') }}

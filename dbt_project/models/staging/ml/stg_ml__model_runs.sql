with

source as (
    select * from {{ source('ml', 'model_runs') }}
),

renamed as (
    select
        run_id,
        run_kind,
        started_at as run_started_at,
        threshold as decision_threshold
    from source
)

select * from renamed

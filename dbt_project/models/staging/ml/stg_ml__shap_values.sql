with

source as (
    select * from {{ source('ml', 'shap_values') }}
),

renamed as (
    select
        run_id,
        customer_id,
        feature,
        feature_value,
        feature_value_num,
        shap_value,
        shap_rank,
        actionable_shap_rank
    from source
)

select * from renamed

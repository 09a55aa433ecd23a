with

source as (
    select * from {{ source('ml', 'predictions') }}
),

renamed as (
    select
        run_id,
        customer_id,
        p_decline,
        predicted_decline as is_predicted_decline,
        p_source,
        base_value
    from source
)

select * from renamed

with

source as (
    select * from {{ source('shop_export', 'money') }}
),

renamed as (
    select
        id as customer_id,
        "Прибыль" as profit,
        parse_filename(filename) as source_file,
        -- insertion order is preserved, so this is the line in the file
        row_number() over () + 1 as source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from source
)

select * from renamed

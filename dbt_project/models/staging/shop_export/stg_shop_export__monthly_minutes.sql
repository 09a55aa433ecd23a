with

source as (
    select * from {{ source('shop_export', 'market_time') }}
),

renamed as (
    select
        id as customer_id,
        "Период" as period_raw,
        "минут" as minutes,
        parse_filename(filename) as source_file,
        -- insertion order is preserved, so this is the line in the file
        row_number() over () + 1 as source_line
    from source
),

recoded as (
    select
        customer_id,
        {{ map_label('period', 'period_raw') }} as period,
        minutes,
        period_raw,
        source_file,
        source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from renamed
)

select * from recoded

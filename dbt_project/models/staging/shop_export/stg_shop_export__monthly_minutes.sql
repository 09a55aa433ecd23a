-- market_time.csv landed: canonical period codes (joined from the label_map
-- seed), minutes parsed strictly (see macros/parse_numbers.sql), and the
-- file and line of every row.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set numbers = {'customer_id': 'bigint', 'minutes': 'integer'} %}

with

source as (
    select * from {{ source('shop_export', 'market_time') }}
),

periods as (
    select
        raw_label,
        canonical_label
    from {{ ref('label_map') }}
    where field = 'period'
),

renamed as (
    select
        id as customer_id_as_read,
        {{ adapter.quote('Период') }} as period_raw,
        {{ adapter.quote('минут') }} as minutes_as_read,
        -- one file per source table: its name is known before reading,
        -- so no per-row path column is read and parsed
        '{{ export_file_name('market_time') }}' as source_file,
        -- the reader's row number (`with ordinality` in the source): the
        -- line in the file, header being line 1
        ordinality + 1 as source_line
    from source
),

checked as (
    select
        *,
        {{ number_checks(numbers) }}
    from renamed
),

recoded as (
    select
        {{ parsed_number('customer_id', 'bigint') }} as customer_id,
        periods.canonical_label as period,
        {{ parsed_number('minutes', 'integer') }} as minutes,
        checked.period_raw,
        {{ invalid_numbers(numbers) }} as invalid_values,
        checked.source_file,
        checked.source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from checked
    left join periods on checked.period_raw = periods.raw_label
)

select * from recoded

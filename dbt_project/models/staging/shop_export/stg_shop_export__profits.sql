-- money.csv landed: profit parsed strictly (see macros/parse_numbers.sql),
-- and the file and line of every row.
{{ config(
    pre_hook="{{ insertion_order(false) }}",
    post_hook="{{ insertion_order(true) }}",
) }}
{%- set numbers = {'customer_id': 'bigint', 'profit': 'double'} %}

with

source as (
    select * from {{ source('shop_export', 'money') }}
),

renamed as (
    select
        id as customer_id_as_read,
        {{ adapter.quote('Прибыль') }} as profit_as_read,
        -- one file per source table: its name is known before reading,
        -- so no per-row path column is read and parsed
        '{{ export_file_name('money') }}' as source_file,
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

parsed as (
    select
        {{ parsed_number('customer_id', 'bigint') }} as customer_id,
        {{ parsed_number('profit', 'double') }} as profit,
        {{ invalid_numbers(numbers) }} as invalid_values,
        source_file,
        source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from checked
)

select * from parsed

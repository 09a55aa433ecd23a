-- Every customer id of market_file.csv is in each other file, and every id
-- of another file is in market_file.csv. Fails with one row per id and file
-- pair, saying which file has the id and which lacks it. One test (each
-- file's ids read once, one aggregate) instead of one per file and direction:
-- each file sets its bit in `files`, so an id in every file has all bits.
-- The monthly files' ids are read from their period pivots, one row per
-- customer, rather than from their staging rows (three and two per
-- customer): the same ids, since both leave out an id that did not parse.
{{ config(store_failures=true) }}

{%- set files = export_files() %}
{%- set one_row_per_customer = {
    'stg_shop_export__monthly_revenues': 'int_revenues_pivoted_to_periods',
    'stg_shop_export__monthly_minutes': 'int_minutes_pivoted_to_periods',
} %}

with

ids as (
    {%- for model, file_name in files %}
        select
            customer_id,
            {{ 2 ** loop.index0 }} as file_bit
        from {{ ref(one_row_per_customer.get(model, model)) }}
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

incomplete as (
    select
        customer_id,
        bit_or(file_bit) as files
    from ids
    where customer_id is not null
    group by customer_id
    having bit_or(file_bit) != {{ 2 ** (files | length) - 1 }}
),

-- the customer file (bit 1) against each other file, both ways
pairs as (
    {%- for model, file_name in files[1:] %}
        select
            '{{ files[0][1] }}' as from_file,
            1 as from_bit,
            '{{ file_name }}' as to_file,
            {{ 2 ** loop.index }} as to_bit
        union all
        select
            '{{ file_name }}' as from_file,
            {{ 2 ** loop.index }} as from_bit,
            '{{ files[0][1] }}' as to_file,
            1 as to_bit
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

final as (
    select
        incomplete.customer_id,
        'customer_id ' || incomplete.customer_id || ' is in '
        || pairs.from_file || ' but not in ' || pairs.to_file as problem
    from incomplete
    cross join pairs
    where
        incomplete.files & pairs.from_bit != 0
        and incomplete.files & pairs.to_bit = 0
)

select * from final
order by customer_id, problem

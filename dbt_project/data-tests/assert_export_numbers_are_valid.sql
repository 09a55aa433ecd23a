-- Every number of the export is present and parses strictly: ids and counts
-- are whole numbers (`215377.4` fails; `215348.0` is the integer 215348),
-- and no value is infinite or not a number. Staging keeps a faulty value out
-- and names it in `invalid_values`; this lists those rows with the file and
-- line, one test for the four files (a dbt test node costs ~0.1 s however
-- small). An empty number is reported here too, once, as
-- "<column> is empty (must not be empty)".
{{ config(store_failures=true) }}

{%- set models = [
    'stg_shop_export__customers',
    'stg_shop_export__monthly_revenues',
    'stg_shop_export__monthly_minutes',
    'stg_shop_export__profits',
] %}

with

invalid as (
    {%- for model in models %}
        select
            invalid_values as problems,
            source_file,
            source_line,
            customer_id
        from {{ ref(model) }}
        where invalid_values is not null
        {{ "union all" if not loop.last }}
    {%- endfor %}
)

select * from invalid
order by source_file, source_line

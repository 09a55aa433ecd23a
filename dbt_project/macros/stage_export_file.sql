{#- The body of a staging model: one export file landed, the same steps for
    every file (the four models differ only in their columns):
    * `renamed`: the file's columns under English names (`columns`: {header
      as in the file: name}); a number is named `<name>_as_read`, a labelled
      text `<field>_raw`;
    * `checked`: each number judged once (`numbers`: {name: kind}, see
      macros/parse_numbers.sql);
    * `recoded`: the numbers parsed strictly, every labelled text mapped to
      its canonical label by one hash join per field on the label_map seed
      (`labels`: {field: raw column}), not a lookup per row;
    * the file's name (each source table is one known file, so no per-row
      path is read and parsed) and line of every row: its position in the
      file (`export_rows` below), the header being line 1; `landed`: number
      the rows in a landed copy of the file rather than as read (see there).
    `outputs`: the model's leading columns in order, each a number of
    `numbers` (parsed), a column of `checked`, or (name, expression); the
    row's `invalid_values`, `source_file`, `source_line` and `loaded_at`
    follow. The id column is always `id` in the export. -#}
{% macro stage_export_file(
    table, columns, numbers, outputs, labels={}, landed=false
) %}

{%- if landed %}
{{ config(
    pre_hook="{{ land_export_rows('" ~ table ~ "') }}",
    post_hook="{{ drop_landed_export_rows('" ~ table ~ "') }}",
) }}
{%- endif %}

with

source as (
    {{ export_rows(table, landed) }}
),
{%- for field in labels %}

{{ field }}_labels as (
    select
        raw_label,
        canonical_label
    from {{ ref('label_map') }}
    where field = '{{ field }}'
),
{%- endfor %}

renamed as (
    select
        id as customer_id_as_read,
        {%- for header, name in columns.items() %}
        {{ adapter.quote(header) }} as {{ name }},
        {%- endfor %}
        '{{ export_file_name(table) }}' as source_file,
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
        {%- for output in outputs %}
        {%- if output is string and output in numbers %}
        {{ parsed_number(output, numbers[output]) }} as {{ output }},
        {%- elif output is string %}
        checked.{{ output }},
        {%- else %}
        {{ output[1] }} as {{ output[0] }},
        {%- endif %}
        {%- endfor %}
        {{ invalid_numbers(numbers) }} as invalid_values,
        checked.source_file,
        checked.source_line,
        cast('{{ run_started_at }}' as timestamp) as loaded_at
    from checked
    {%- for field, column in labels.items() %}
    left join {{ field }}_labels
        on checked.{{ column }} = {{ field }}_labels.raw_label
    {%- endfor %}
)

select * from recoded

{%- endmacro %}


{#- A monthly file (market_money.csv, market_time.csv): id, period and one
    number per row; `value` is the number's English name, `header` its
    column in the file, `kind` as in macros/parse_numbers.sql. Landed first
    (export_rows): a row per customer and month, and its chain (pivot,
    implausible revenue, duplicates, mart) is the build's longest. -#}
{% macro stage_monthly_export_file(table, header, value, kind) %}
    {{ return(stage_export_file(
        table,
        columns={'Период': 'period_raw', header: value ~ '_as_read'},
        numbers={'customer_id': 'bigint', value: kind},
        labels={'period': 'period_raw'},
        outputs=[
            'customer_id', ('period', 'period_labels.canonical_label'),
            value, 'period_raw',
        ],
        landed=true,
    )) }}
{%- endmacro %}


{#- The rows of one export file, each with `ordinality`: its position in
    the file (1 for the first row after the header).
    DuckDB's CSV reader numbers no rows; `with ordinality` on the read does,
    but makes the whole model (parsing, label joins, writing the table) one
    single-threaded pipeline. That is cheapest in CPU, so the one-row-per-
    customer files are numbered as read. A `landed` file is copied first, as
    read, into a temporary table by the model's pre-hook (land_export_rows),
    keeping insertion order for that one statement: DuckDB reads and inserts
    in parallel and still stores the rows in file order, so a row's `rowid`
    less the first row's is its position (rows a transaction has not
    committed yet, as in a dbt hook, number from 2^55). The model then runs
    on every core; the post-hook drops the copy. The copy costs CPU (about
    a third more for the model) and pays where the model is on the build's
    longest chain and often runs alone: at 10 M customers the revenue
    file's model went from 16 to 12.5 s.
    Spark: the landing view numbers the rows (macros/adapters/spark_landing.sql). -#}
{% macro export_rows(table, landed=false) -%}
    {{ return(adapter.dispatch('export_rows', 'one_click')(table, landed)) }}
{%- endmacro %}

{% macro default__export_rows(table, landed) -%}
    {#- source() here also records the model's dependency on the file -#}
    {%- set file = source('shop_export', table) -%}
    {%- if landed -%}
    {%- set copy = landed_export_rows(file) -%}
    select
        landed.*,
        landed.rowid - first_row.rowid + 1 as ordinality
    from {{ copy }} as landed
    cross join (select min(rowid) as rowid from {{ copy }}) as first_row
    {%- else -%}
    select * from {{ file }} with ordinality
    {%- endif -%}
{%- endmacro %}

{% macro spark__export_rows(table, landed) -%}
    select * from {{ source('shop_export', table) }}
{%- endmacro %}

{#- The temporary table that holds one file's rows on DuckDB: private to
    the dbt thread's connection, so two models landing at once never meet. -#}
{% macro landed_export_rows(file) -%}
    temp.main.{{ adapter.quote(file.identifier ~ '__landed') }}
{%- endmacro %}

{#- Pre-hook: the file's rows into landed_export_rows, in file order. The
    session setting overrides, for this statement only, the global one the
    folder's hooks set (macros/insertion_order.sql), so a model running on
    the other thread cannot unorder it. -#}
{% macro land_export_rows(table) -%}
    {{ return(adapter.dispatch('land_export_rows', 'one_click')(table)) }}
{%- endmacro %}

{% macro default__land_export_rows(table) -%}
    {%- set file = source('shop_export', table) -%}
    set session preserve_insertion_order = true;
    create or replace temporary table {{ landed_export_rows(file) }} as
        select * from {{ file }};
    reset session preserve_insertion_order
{%- endmacro %}

{% macro spark__land_export_rows(table) -%}
{%- endmacro %}

{#- Post-hook: the landed rows are not needed once staged. -#}
{% macro drop_landed_export_rows(table) -%}
    {{ return(adapter.dispatch('drop_landed_export_rows', 'one_click')(table)) }}
{%- endmacro %}

{% macro default__drop_landed_export_rows(table) -%}
    drop table if exists {{ landed_export_rows(source('shop_export', table)) }}
{%- endmacro %}

{% macro spark__drop_landed_export_rows(table) -%}
{%- endmacro %}

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
      path is read and parsed) and line of every row: the reader's row
      number (`with ordinality` in the source), the header being line 1.
    `outputs`: the model's leading columns in order, each a number of
    `numbers` (parsed), a column of `checked`, or (name, expression); the
    row's `invalid_values`, `source_file`, `source_line` and `loaded_at`
    follow. The id column is always `id` in the export. -#}
{% macro stage_export_file(table, columns, numbers, outputs, labels={}) %}

with

source as (
    select * from {{ source('shop_export', table) }}
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
    column in the file, `kind` as in macros/parse_numbers.sql. -#}
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
    )) }}
{%- endmacro %}

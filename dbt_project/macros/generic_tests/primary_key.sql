{#- `unique` and `not_null` in one scan: fails with every key value (or
    combination of `columns`) that is null or occurs more than once, with its
    row count, and on staging models the file and lines of every copy.
    `label`: the key's name in the sentence (e.g. the export's `id`);
    `quarantined_in`: where repeated keys are listed when they are kept out
    of the mart rather than fatal (use with severity warn).
    Rows are counted per key first; the file and lines (a top-5 list and a
    text) are looked up for the failing keys alone, not aggregated for every
    key of a million-row file. -#}
{% test primary_key(model, column_name=none, columns=none, label=none,
                    quarantined_in=none) %}

{%- set key = columns or [column_name] %}
{%- set names = column_names(model) %}
{%- set lines = has_source_lines(model, names) %}
{#- On a staging model whose numbers are parsed strictly, a null key is a
    value that was empty or did not parse: assert_export_numbers_are_valid
    names it with its file, line and value, so it is not reported again
    here as "empty". #}
{%- set nulls_reported_elsewhere = 'invalid_values' in names %}
{%- set name = label or key | join(', ') %}

with

failing as (
    select
        {{ key | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    {%- if nulls_reported_elsewhere %}
    where {{ key | join(' is not null and ') }} is not null
    {%- endif %}
    group by {{ key | join(', ') }}
    having
        count(*) > 1
        {%- if not nulls_reported_elsewhere %}
        {%- for column in key %}
        or {{ column }} is null
        {%- endfor %}
        {%- endif %}
),
{%- if lines %}

failing_lines as (
    {{ source_lines_of(model, key, 'failing') }}
),
{%- endif %}

final as (
    select
        {%- for column in key %}
        failing.{{ column }},
        {%- endfor %}
        failing.n_rows,
        {%- if lines %}
        failing_lines.source_file,
        failing_lines.source_lines,
        {%- endif %}
        case
            when failing.{{ key | join(' is null or failing.') }} is null
                then '{{ name }} is empty (must not be empty)'
            else '{{ name }} '
                || concat_ws(', ', failing.{{ key | join(', failing.') }})
                || ' appears ' || {{ times_phrase('failing.n_rows') }}
                {%- if quarantined_in %}
                || '; ' || case when failing.n_rows = 2 then 'both' else 'all '
                    || failing.n_rows end
                || ' kept out of the mart ({{ quarantined_in }})'
                {%- else %}
                || ' (must be unique)'
                {%- endif %}
        end as problem
    from failing
    {%- if lines %}
    left join failing_lines
        on
        {%- for column in key %}
            failing.{{ column }} is not distinct from failing_lines.{{ column }}
            {{- " and" if not loop.last }}
        {%- endfor %}
    {%- endif %}
)

select * from final

{% endtest %}

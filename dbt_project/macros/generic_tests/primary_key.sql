{#- `unique` and `not_null` in one scan: fails with every key value (or
    combination of `columns`) that is null or occurs more than once, with its
    row count, and on staging models the file and lines of every copy.
    `label`: the key's name in the sentence (e.g. the export's `id`);
    `quarantined_in`: where repeated keys are listed when they are kept out
    of the mart rather than fatal (use with severity warn). -#}
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

select
    {{ key | join(', ') }},
    count(*) as n_rows,
    {%- if lines %}
    any_value(source_file) as source_file,
    {{ lines_phrase(smallest_values('source_line', 5), 'count(*)') }} as source_lines,
    {%- endif %}
    case
        when {{ key | join(' is null or ') }} is null
            then '{{ name }} is empty (must not be empty)'
        else '{{ name }} '
            || concat_ws(', ', {{ key | join(', ') }})
            || ' appears ' || {{ times_phrase('count(*)') }}
            {%- if quarantined_in %}
            || '; ' || case when count(*) = 2 then 'both' else 'all '
                || count(*) end
            || ' kept out of the mart ({{ quarantined_in }})'
            {%- else %}
            || ' (must be unique)'
            {%- endif %}
    end as problem
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

{% endtest %}

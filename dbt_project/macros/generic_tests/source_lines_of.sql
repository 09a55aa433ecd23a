{#- The file and lines of every row of `model` whose `key` (a list of
    columns) is one of the CTE `failing`'s: a test counts rows per key first
    and looks up where its failing keys are written only for those few,
    instead of aggregating a top-5 list and a text for every key of a
    million-row file. `failing_key`: the same columns' names in `failing`
    (default: as in the model). One row per failing key: the key under its
    names in `failing`, `source_file` and `source_lines` ("line 7", "lines
    2, 5 and 9"). -#}
{% macro source_lines_of(model, key, failing, failing_key=none) %}
    {%- set failing_key = failing_key or key %}
    select
        {%- for column in key %}
        tested.{{ column }} as {{ failing_key[loop.index0] }},
        {%- endfor %}
        any_value(tested.source_file) as source_file,
        {{ lines_phrase(
            smallest_values('tested.source_line', 5), 'count(*)'
        ) }} as source_lines
    from {{ model }} as tested
    inner join (
        select distinct {{ failing_key | join(', ') }} from {{ failing }}
    ) as failing_keys
        on
        {%- for column in key %}
            tested.{{ column }}
            is not distinct from failing_keys.{{ failing_key[loop.index0] }}
            {{- " and" if not loop.last }}
        {%- endfor %}
    group by {{ range(1, key | length + 1) | join(', ') }}
{% endmacro %}

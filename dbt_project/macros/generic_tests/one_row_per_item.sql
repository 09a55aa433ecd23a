{#- A long table's full grid: every value of `columns` (e.g. a run's
    customer) has exactly one row for each `item_column` value the tested
    rows hold (e.g. each feature), none repeated, none missing. A key test
    that groups by `columns` only, with one filtered count per item (the
    items are read first), instead of by every key column: at a million
    customers x 16 features that is a million groups, not 16 million.
    Fails with every `columns` value whose rows miss or repeat an item,
    naming each. -#}
{% test one_row_per_item(model, columns, item_column) %}

{%- set items = [] %}
{%- if execute %}
    {%- set found = run_query(
        'select distinct ' ~ item_column ~ ' from ' ~ model
        ~ ' where ' ~ item_column ~ ' is not null order by 1') %}
    {%- set items = found.columns[0].values() %}
{%- endif %}
{%- set key = columns | join(', ') %}

with

counted as (
    select
        {%- for item in items %}
        count(*) filter (
            where {{ item_column }} = '{{ item | replace("'", "''") }}'
        ) as n_{{ loop.index }},
        {%- endfor %}
        {{ key }}
    from {{ model }}
    group by {{ key }}
),

failing as (
    select * from counted
    where
        false
        {%- for item in items %}
        or n_{{ loop.index }} != 1
        {%- endfor %}
)

select
    {{ key }},
    concat_ws(
        ', '
        {%- for column in columns %},
        '{{ column }} ' || cast({{ column }} as string)
        {%- endfor %}
    )
    || ': '
    || concat_ws(
        ', '
        {%- for item in items %},
        case
            when n_{{ loop.index }} != 1
                then '{{ item | replace("'", "''") }} '
                || n_{{ loop.index }} || ' times'
        end
        {%- endfor %}
    )
    || ' (must be once per {{ item_column }})' as problem
from failing

{% endtest %}

{#- `unique` and `not_null` in one scan: fails with every key value (or
    combination of `columns`) that is null or occurs more than once, with its
    row count. -#}
{% test primary_key(model, column_name=none, columns=none) %}

{%- set key = columns or [column_name] %}

select
    {{ key | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ key | join(', ') }}
having
    count(*) > 1
    {%- for column in key %}
    or {{ column }} is null
    {%- endfor %}

{% endtest %}

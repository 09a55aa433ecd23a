{#- dbt_utils' accepted_range under its name and arguments, so swapping in
    the package is one line: fails with every row whose value lies outside
    [min_value, max_value] (either bound may be omitted; `inclusive: false`
    makes the bounds strict). Nulls pass: they are for `not_null` to judge. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none,
                       inclusive=true) %}

select *
from {{ model }}
where
    false
    {%- if min_value is not none %}
        or not {{ column_name }} >{{ "=" if inclusive }} {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
        or not {{ column_name }} <{{ "=" if inclusive }} {{ max_value }}
    {%- endif %}

{% endtest %}

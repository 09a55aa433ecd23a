{#- A number as the reports print it (thousands separated, `decimals`
    places: `5,180.0`, not `5179.950000000001`), for text such as the
    audit's `detail`. -#}
{% macro readable_number(expression, decimals=1) -%}
    {{ format_thousands(expression, decimals) }}
{%- endmacro %}

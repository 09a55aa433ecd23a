{#- Use the folder's schema name as is (`staging`, `marts`, ...) rather than
    dbt's default `<target schema>_<custom schema>`: analysts query
    `marts.customer_features`, not `main_marts.customer_features`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

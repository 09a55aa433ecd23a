{#- The months the export covers, oldest first, as canonical period codes
    (see the `label_map` seed). One place for the pivot models and tests. -#}
{% macro revenue_periods() -%}
    {{ return(['pre_previous_month', 'previous_month', 'current_month']) }}
{%- endmacro %}

{% macro minutes_periods() -%}
    {{ return(['previous_month', 'current_month']) }}
{%- endmacro %}

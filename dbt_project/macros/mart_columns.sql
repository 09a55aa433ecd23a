{#- Names of the feature mart's columns whose `ml_role` (and, if given,
    `actionable` flag) match, read from the contract in
    models/marts/_marts__models.yml: the one place that lists them. Empty at
    parse time, when the graph is not yet built. -#}
{% macro mart_columns(roles, actionable=none) %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set node = graph.nodes['model.one_click.customer_features'] -%}
        {%- for name, column in node.columns.items() -%}
            {%- set meta = column.meta or {} -%}
            {%- if meta.get('ml_role') in roles
                    and (actionable is none
                         or meta.get('actionable', false) == actionable) -%}
                {%- do names.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{% endmacro %}

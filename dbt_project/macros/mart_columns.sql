{#- Names of the feature mart's columns whose `ml_role` (and, if given,
    `actionable` flag and `data_type`) match, read from the contract in
    models/marts/_marts__models.yml: the one place that lists them. Empty at
    parse time, when the graph is not yet built. -#}
{% macro mart_columns(roles, actionable=none, data_type=none) %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set node = graph.nodes['model.one_click.customer_features'] -%}
        {%- for name, column in node.columns.items() -%}
            {%- set meta = column.meta or {} -%}
            {%- if meta.get('ml_role') in roles
                    and (actionable is none
                         or meta.get('actionable', false) == actionable)
                    and (data_type is none
                         or (column.data_type or '') | lower == data_type) -%}
                {%- do names.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{% endmacro %}


{#- The features a segment profile compares: the numeric ones, and the
    yes/no ones (categorical with data_type boolean) as shares. The reports
    read the profile model, so this is the one place that says which. -#}
{% macro profile_features() %}
    {{ return(mart_columns(['numeric'])
              + mart_columns(['categorical'], data_type='boolean')) }}
{% endmacro %}


{#- The mart's numeric, categorical and actionable features by name, so that
    a model's unit test can give each list (`overrides: macros:`): the graph
    the contract is read from does not exist while a unit test compiles. -#}
{% macro numeric_features() %}
    {{ return(mart_columns(['numeric'])) }}
{% endmacro %}

{% macro categorical_features() %}
    {{ return(mart_columns(['categorical'])) }}
{% endmacro %}

{% macro actionable_features() %}
    {{ return(mart_columns(['numeric', 'categorical'], true)) }}
{% endmacro %}

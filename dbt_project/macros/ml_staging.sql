{#- Names of ml table `table`'s columns in write order, read from source `ml`
    (models/staging/ml/_ml__sources.yml, rendered from the writer's own
    definition, ml/contracts/ml_tables.py): the one list of them. Empty at
    parse time, when the graph is not yet built. -#}
{% macro ml_columns(table) %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set node = graph.sources['source.one_click.ml.' ~ table] -%}
        {%- for name in node.columns -%}
            {%- do names.append(name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{% endmacro %}


{#- The body of staging model stg_ml__<table>: every column of the ml table
    under the writer's name, listed (not `select *`) so a column dropped from
    the definition leaves the view even where an older warehouse still has
    it, and a declared column the table lacks fails the build by name. -#}
{% macro ml_staging_select(table) %}
with

source as (
    select * from {{ source('ml', table) }}
),

final as (
    select
        {%- for column in ml_columns(table) %}
            {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from source
)

select * from final
{% endmacro %}

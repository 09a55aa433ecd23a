{#- dbt_utils' unique_combination_of_columns under its name and arguments, so
    swapping in the package is one line: fails with every combination of
    `combination_of_columns` that occurs more than once (with its row count,
    which the console prints). `quote_columns`: quote each name. -#}
{% test unique_combination_of_columns(model, combination_of_columns,
                                      quote_columns=false) %}

{%- set column_list = [] %}
{%- for column in combination_of_columns %}
    {%- do column_list.append(
        adapter.quote(column) if quote_columns else column) %}
{%- endfor %}
{%- set columns_csv = column_list | join(', ') %}

select
    {{ columns_csv }},
    count(*) as n_rows
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}

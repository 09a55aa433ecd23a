{#- `set preserve_insertion_order` for the pre- and post-hook that
    dbt_project.yml gives every model of staging/shop_export and
    intermediate.
    DuckDB keeps a table's rows in the order it read them unless told not
    to; keeping that order makes every large `create table as` wait for the
    slowest thread and hold finished rows in memory. The landed tables carry
    their file and line (`source_line`), and every reader orders by a key,
    so the heavy staging and intermediate models are written in any order
    (pre-hook false) and the setting is restored afterwards (post-hook true)
    for whatever runs next. The setting is global: a model running beside
    them on the other dbt thread may be written unordered too, which is
    equally harmless. -#}
{% macro insertion_order(preserve) -%}
    set preserve_insertion_order = {{ 'true' if preserve else 'false' }}
{%- endmacro %}

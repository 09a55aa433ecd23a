{#- dbt's `where` test config (dbt's own get_where_subquery, overridden as
    dbt's docs show for custom placeholders) with one placeholder:
    `__newest_run__`, the newest run id (the largest: run ids start with
    the run's UTC start time) of the tested relation. The ml tables keep
    every run and each run's rows are tested by the build that follows its
    write, so their per-customer tables test only `run_id = __newest_run__`
    (rendered by python -m ml.docs.ml_source) instead of every kept run.
    `--vars '{ml_tests_every_run: true}'` drops that filter, to test every
    kept run again (after a rule was added, say). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__newest_run__' in where and var('ml_tests_every_run', false) -%}
        {%- set where = '' -%}
    {%- endif -%}
    {%- if where -%}
        {%- set newest_run = '(select max(run_id) from ' ~ relation ~ ')' -%}
        {%- set where = where | replace('__newest_run__', newest_run) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

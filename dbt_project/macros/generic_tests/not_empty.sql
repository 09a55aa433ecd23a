{#- Fails when the model has no rows (e.g. an export file with a header only). -#}
{% test not_empty(model, file_name) %}

select '{{ file_name }} has a header but no data rows' as problem
where not exists (select 1 from {{ model }})

{% endtest %}

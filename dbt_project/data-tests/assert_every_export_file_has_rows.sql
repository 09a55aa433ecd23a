-- A file with a header but no data rows stops the build, naming the file.
-- One test for the four files (a dbt test node costs ~0.1 s however small).
{{ config(store_failures=true) }}

{% for model, file_name in export_files() %}
    select '{{ file_name }} has a header but no data rows' as problem
    where not exists (select 1 from {{ ref(model) }})
    {{ "union all" if not loop.last }}
{% endfor %}

{#- Fails with every raw label of the given columns that the `label_map` seed
    does not list for the column's field (`columns`: {column: field}); the
    failing rows name the field, the label (invisible and mixed-script
    characters made visible), how often it occurs and, on staging models,
    the file and first lines. Add the spelling to the seed to accept it. One
    node for all the columns of a model. Nulls fail too (a null label is not
    listed). -#}
{% test labels_are_mapped(model, columns) %}

{%- set lines = has_source_lines(model) %}

with

labels as (
    {%- for column, field in columns.items() %}
    select
        '{{ field }}' as field,
        {{ column }} as raw_label,
        count(*) as n_rows
        {%- if lines %},
        any_value(source_file) as source_file,
        {{ smallest_values('source_line', 5) }} as first_lines
        {%- endif %}
    from {{ model }}
    group by {{ column }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

mapped as (
    select
        field,
        raw_label
    from {{ ref('label_map') }}
),

final as (
    select
        labels.field,
        labels.raw_label,
        labels.n_rows,
        {%- if lines %}
        labels.source_file,
        {{ lines_phrase('labels.first_lines', 'labels.n_rows') }}
            as source_lines,
        {%- endif %}
        labels.field || ' = ' || {{ visible_text('labels.raw_label') }}
        || ' is not a known label'
        || case when labels.n_rows > 1
            then ' (' || labels.n_rows || ' rows)' else '' end
        || '; add it to the label_map seed to accept it' as problem
    from labels
    left join mapped
        on
            labels.field = mapped.field
            and labels.raw_label = mapped.raw_label
    where mapped.raw_label is null
)

select * from final

{% endtest %}

{#- Fails with every raw label of the given columns that the `label_map` seed
    does not list for the column's field (`columns`: {column: field}); the
    failing rows name the field, the label and how often it occurs. Add the
    spelling to the seed to accept it. One node for all the columns of a model.
    Nulls fail too (a null label is not listed). -#}
{% test labels_are_mapped(model, columns) %}

with

labels as (
    {%- for column, field in columns.items() %}
    select
        '{{ field }}' as field,
        {{ column }} as raw_label,
        count(*) as n_rows
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
        labels.n_rows
    from labels
    left join mapped
        on
            labels.field = mapped.field
            and labels.raw_label = mapped.raw_label
    where mapped.raw_label is null
)

select * from final

{% endtest %}

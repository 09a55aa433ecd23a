{#- Fails with every raw label of `column_name` that the `label_map` seed does
    not list for `field`; the failing rows name the label and how often it
    occurs. Add the spelling to the seed to accept it. -#}
{% test label_is_mapped(model, column_name, field) %}

with

labels as (
    select
        {{ column_name }} as raw_label,
        count(*) as n_rows
    from {{ model }}
    group by 1
),

mapped as (
    select raw_label from {{ ref('label_map') }}
    where field = '{{ field }}'
),

final as (
    select
        '{{ field }}' as field,
        labels.raw_label,
        labels.n_rows
    from labels
    left join mapped on labels.raw_label = mapped.raw_label
    where mapped.raw_label is null
)

select * from final

{% endtest %}

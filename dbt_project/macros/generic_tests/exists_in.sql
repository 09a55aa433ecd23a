{#- Referential check that names the offenders: fails with every value of
    `column_name` that `to`.`field` lacks, each with a sentence saying which
    file has it and which lacks it. -#}
{% test exists_in(model, column_name, to, field, from_file, to_file) %}

with

values_here as (
    select distinct {{ column_name }} as value from {{ model }}
    where {{ column_name }} is not null
),

values_there as (
    select distinct {{ field }} as value from {{ to }}
),

final as (
    select
        values_here.value as {{ column_name }},
        '{{ column_name }} ' || values_here.value || ' is in {{ from_file }}'
        || ' but not in {{ to_file }}' as problem
    from values_here
    left join values_there on values_here.value = values_there.value
    where values_there.value is null
)

select * from final
order by {{ column_name }}

{% endtest %}

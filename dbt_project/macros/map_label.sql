{#- The canonical form of a raw label, looked up in the `label_map` seed.
    Null when the label is unknown: the `labels_are_mapped` test then fails and
    names the label, rather than an unknown value slipping downstream. -#}
{% macro map_label(field, column) -%}
    (
        select label_map.canonical_label
        from {{ ref('label_map') }} as label_map
        where
            label_map.field = '{{ field }}'
            and label_map.raw_label = {{ column }}
    )
{%- endmacro %}

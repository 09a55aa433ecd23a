{#- Strict parsing of the export's numbers. The source reads every numeric
    column as DOUBLE, so a fraction in an id or count column (`215377.4`) or
    a non-finite value (`inf`, `nan`) is seen as written instead of being
    rounded or passed on. Staging keeps such a value out (null) and lists it
    in `invalid_values`, which the test assert_export_numbers_are_valid
    reports with the file, the line and the value.
    `kind` is 'bigint' (ids), 'integer' (counts) or 'double'. An exact
    integer written with a decimal part of zero (`215348.0`) is accepted.
    Each column `<name>_as_read` is judged once (`<name>_is_valid`, from
    number_checks); the message is only built for the rare rows that fail. -#}

{#- Largest magnitude a value of each kind may have: DOUBLE holds integers
    exactly up to 2^53, so a larger id could already have been rounded. -#}
{% macro _number_limit(kind) -%}
    {{ return({'bigint': 9007199254740992, 'integer': 2147483647}.get(kind)) }}
{%- endmacro %}

{#- Select-list items `<name>_is_valid` (false when empty or not
    acceptable), one per column of `columns` ({name: kind}). -#}
{% macro number_checks(columns) -%}
    {%- for name, kind in columns.items() %}
        {%- set raw = name ~ '_as_read' %}
        {%- set limit = _number_limit(kind) %}
        coalesce(
            {{ is_finite(raw) }}
            {%- if limit %}
                and {{ is_whole_number(raw) }}
                and abs({{ raw }}) <= {{ limit }}
            {%- endif %},
            false
        ) as {{ name }}_is_valid{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The value of `<name>_as_read` as `kind`, null when not valid. -#}
{% macro parsed_number(name, kind) -%}
    case
        when {{ name }}_is_valid
            then {{ name }}_as_read
            {%- if kind != 'double' %}::{{ kind }}{% endif %}
    end
{%- endmacro %}

{#- One text naming every empty or unacceptable value of the row, null when
    all are fine (`columns`: {name: kind}, as in number_checks). -#}
{% macro invalid_numbers(columns) -%}
    case
        when not (
            {%- for name in columns %}
                {{ name }}_is_valid{{ " and" if not loop.last }}
            {%- endfor %}
        )
            then concat_ws(
                '; '
                {%- for name, kind in columns.items() %}
                    {%- set raw = name ~ '_as_read' %}
                    {%- set shown = "'" ~ name ~ " = ' || cast(" ~ raw ~ " as string)" %}
                    {%- set limit = _number_limit(kind) %},
                    case
                        when {{ name }}_is_valid then null
                        when {{ raw }} is null then '{{ name }} is empty (must not be empty)'
                        when not {{ is_finite(raw) }}
                            then {{ shown }} || ' is not a finite number'
                        {%- if limit %}
                        when not ({{ is_whole_number(raw) }})
                            then {{ shown }} || ' is not a whole number'
                        else {{ shown }}
                            || ' is out of range (at most {{ limit }} in size)'
                        {%- endif %}
                    end
                {%- endfor %}
            )
    end
{%- endmacro %}

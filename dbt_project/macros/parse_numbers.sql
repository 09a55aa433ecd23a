{#- Strict parsing of the export's numbers. The source reads every numeric
    column as DOUBLE, so a fraction in an id or count column (`215377.4`) or
    a non-finite value (`inf`, `nan`) is seen as written instead of being
    rounded or passed on. Staging keeps such a value out (null) and lists it
    in `invalid_values`, which the test assert_export_numbers_are_valid
    reports with the file, the line and the value.
    `kind` is 'bigint' (ids), 'integer' (counts) or 'double'. An exact
    integer written with a decimal part of zero (`215348.0`) is accepted. -#}

{#- Largest magnitude a value of each kind may have: DOUBLE holds integers
    exactly up to 2^53, so a larger id could already have been rounded. -#}
{% macro _number_limit(kind) -%}
    {{ return({'bigint': 9007199254740992, 'integer': 2147483647}.get(kind)) }}
{%- endmacro %}

{#- True when the non-null value `column` is acceptable for `kind`. -#}
{% macro _number_is_valid(column, kind) -%}
    {%- set limit = _number_limit(kind) -%}
    {%- if limit -%}
        (isfinite({{ column }}) and {{ column }} = trunc({{ column }})
        and abs({{ column }}) <= {{ limit }})
    {%- else -%}
        isfinite({{ column }})
    {%- endif -%}
{%- endmacro %}

{#- The value of `column` as `kind`, null when empty or not acceptable. -#}
{% macro parsed_number(column, kind) -%}
    {%- if kind == 'double' -%}
        case when {{ _number_is_valid(column, kind) }} then {{ column }} end
    {%- else -%}
        case
            when {{ _number_is_valid(column, kind) }}
                then cast({{ column }} as {{ kind }})
        end
    {%- endif -%}
{%- endmacro %}

{#- One text naming every empty or unacceptable value of the row, null when
    all are fine (`columns`: {column: kind}, named as in the staging model,
    each read as `<column>_as_read`). Built only for the rare faulty rows. -#}
{% macro invalid_numbers(columns) -%}
    {%- set checks = [] -%}
    {%- for name, kind in columns.items() -%}
        {%- set raw = name ~ '_as_read' -%}
        {%- set shown = "'" ~ name ~ " = ' || cast(" ~ raw ~ " as varchar)" -%}
        {%- do checks.append((raw ~ ' is null', "'" ~ name ~ " is null'")) -%}
        {%- do checks.append((
            'not isfinite(' ~ raw ~ ')',
            shown ~ " || ' is not a finite number'")) -%}
        {%- set limit = _number_limit(kind) -%}
        {%- if limit -%}
            {%- do checks.append((
                'isfinite(' ~ raw ~ ') and ' ~ raw ~ ' != trunc(' ~ raw ~ ')',
                shown ~ " || ' is not a whole number'")) -%}
            {%- do checks.append((
                'isfinite(' ~ raw ~ ') and ' ~ raw ~ ' = trunc(' ~ raw ~ ')'
                ~ ' and abs(' ~ raw ~ ') > ' ~ limit,
                shown ~ " || ' is out of range (at most " ~ limit
                ~ " in size)'")) -%}
        {%- endif -%}
    {%- endfor -%}
    case
        when
            false
            {%- for condition, message in checks %}
                or {{ condition }}
            {%- endfor %}
            then concat_ws(
                '; '
                {%- for condition, message in checks %},
                    case when {{ condition }} then {{ message }} end
                {%- endfor %}
            )
    end
{%- endmacro %}

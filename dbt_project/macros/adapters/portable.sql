{#-
    The few expressions whose spelling differs between the engines the
    project builds on (DuckDB, the default, and Apache Spark through
    dbt-spark), each dispatched per adapter (`adapter.dispatch`) so models
    and tests keep one SQL text. `default__` is DuckDB's spelling; `spark__`
    is Spark SQL's (dbt-spark turns ANSI mode off, so a failed cast is null
    rather than an error: the landing views check numbers themselves,
    macros/adapters/spark_landing.sql). Type names: `string`, `integer`,
    `bigint`, `double`, `boolean` and `timestamp` mean the same on both, so
    models use them directly (not `varchar`, which Spark wants with a length).
-#}

{#- Neither infinite nor NaN (null stays null). -#}
{% macro is_finite(expression) -%}
    {{ return(adapter.dispatch('is_finite', 'one_click')(expression)) }}
{%- endmacro %}

{% macro default__is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}

{% macro spark__is_finite(expression) -%}
    (not isnan({{ expression }})
        and abs({{ expression }}) != cast('Infinity' as double))
{%- endmacro %}


{#- A finite double with no fractional part. `trunc` of a double is a date
    function on Spark, and `floor` there returns a bigint that overflows
    past 2^63, so Spark asks for the remainder instead. -#}
{% macro is_whole_number(expression) -%}
    {{ return(adapter.dispatch('is_whole_number', 'one_click')(expression)) }}
{%- endmacro %}

{% macro default__is_whole_number(expression) -%}
    {{ expression }} = trunc({{ expression }})
{%- endmacro %}

{% macro spark__is_whole_number(expression) -%}
    {{ expression }} % 1 = 0
{%- endmacro %}


{#- A hash of several columns, to find candidate duplicates (a collision
    only adds a candidate). Spark's `hash` is 32 bits, so it gets the 64-bit
    xxhash64 like DuckDB's. -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'one_click')(columns)) }}
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}


{#- A number with thousands separated and `decimals` places (`5,180.0`). -#}
{% macro format_thousands(expression, decimals) -%}
    {{ return(adapter.dispatch('format_thousands', 'one_click')(
        expression, decimals)) }}
{%- endmacro %}

{% macro default__format_thousands(expression, decimals) -%}
    format('{:,.{{ decimals }}f}', {{ expression }})
{%- endmacro %}

{% macro spark__format_thousands(expression, decimals) -%}
    format_number({{ expression }}, {{ decimals }})
{%- endmacro %}


{#- The `n` smallest values of `column` in the group, ascending, as a list
    (DuckDB's `min(x, n)`). -#}
{% macro smallest_values(column, n) -%}
    {{ return(adapter.dispatch('smallest_values', 'one_click')(column, n)) }}
{%- endmacro %}

{% macro default__smallest_values(column, n) -%}
    min({{ column }}, {{ n }})
{%- endmacro %}

{% macro spark__smallest_values(column, n) -%}
    slice(array_sort(collect_list({{ column }})), 1, {{ n }})
{%- endmacro %}


{#- Element `i` (1-based), the first `n` elements, and the elements joined
    by `separator`, of a list. -#}
{% macro list_element(list, i) -%}
    {{ return(adapter.dispatch('list_element', 'one_click')(list, i)) }}
{%- endmacro %}

{% macro default__list_element(list, i) -%}
    {{ list }}[{{ i }}]
{%- endmacro %}

{% macro spark__list_element(list, i) -%}
    element_at({{ list }}, cast({{ i }} as int))
{%- endmacro %}

{% macro list_head(list, n) -%}
    {{ return(adapter.dispatch('list_head', 'one_click')(list, n)) }}
{%- endmacro %}

{% macro default__list_head(list, n) -%}
    {{ list }}[1:{{ n }}]
{%- endmacro %}

{% macro spark__list_head(list, n) -%}
    slice({{ list }}, 1, cast({{ n }} as int))
{%- endmacro %}

{% macro list_join(list, separator) -%}
    {{ return(adapter.dispatch('list_join', 'one_click')(list, separator)) }}
{%- endmacro %}

{% macro default__list_join(list, separator) -%}
    array_to_string({{ list }}, {{ separator }})
{%- endmacro %}

{% macro spark__list_join(list, separator) -%}
    array_join(transform({{ list }}, x -> cast(x as string)), {{ separator }})
{%- endmacro %}


{#- dbt's `cast` (the enforced contract of customer_features casts null to
    each declared `data_type` to learn the expected schema). The contract says
    `varchar`, DuckDB's name, which Spark accepts only with a length: there it
    is Spark's `string`. -#}
{% macro spark__cast(field, type) -%}
    {%- set spark_type = 'string' if type | trim | lower == 'varchar'
        else type -%}
    cast({{ field }} as {{ spark_type }})
{%- endmacro %}

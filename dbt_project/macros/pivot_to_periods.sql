{#- The body of a period pivot: one row per customer and one column per
    period and value, from a staging model with one row per customer and
    period. Aggregates with a FILTER clause (DuckDB and Spark alike; no
    engine-specific PIVOT), so the columns are fixed by `periods` whatever
    the export holds.

    staging_model: the model to pivot (columns customer_id, period, values)
    periods:       the period codes, oldest first (macros/periods.sql)
    values:        (column, output name) pairs; `{period}` in the name stands
                   for the period code
    summary:       one more aggregate over the customer's rows, with its alias

    Each customer's rows are also counted per period (`n_rows_<period>`) and
    outside `periods` (`n_rows_other_periods`, unknown labels included): the
    test one_row_per_period checks these counts, so the file's rows are
    grouped once, here, rather than again in the test.

    An id that did not parse is null in staging: assert_export_numbers_are_valid
    names it, and it stays out of the pivot and of every later model. -#}
{% macro pivot_to_periods(staging_model, periods, values, summary) -%}
with

by_period as (
    select * from {{ ref(staging_model) }}
    where customer_id is not null
),

pivoted as (
    select
        customer_id,
        {%- for period in periods %}
            {%- for column, name in values %}
                max({{ column }}) filter (where period = '{{ period }}')
                    as {{ name | replace('{period}', period) }},
            {%- endfor %}
        {%- endfor %}
        {%- for period in periods %}
            count(*) filter (where period = '{{ period }}')
                as n_rows_{{ period }},
        {%- endfor %}
        count(*)
        {%- for period in periods %}
            - count(*) filter (where period = '{{ period }}')
        {%- endfor %} as n_rows_other_periods,
        {{ summary }}
    from by_period
    group by customer_id
)

select * from pivoted
{%- endmacro %}

{#- Fails with every customer that has not exactly one row per period of
    `periods` in a monthly export file (a missing month, a repeated month, a
    row whose period is not one of `periods`), with the file and lines of
    that customer's rows.

    Tested on the file's period pivot (`model`, macros/pivot_to_periods.sql),
    which counts each customer's rows per period as it groups them
    (`n_rows_<period>`, `n_rows_other_periods`): checking the counts reads
    one narrow row per customer instead of grouping the file's rows a second
    time. `rows_of` is the staging model of the file, read only for the few
    failing customers' lines.

    A customer with no row at all in the file is not in the pivot:
    assert_customer_ids_agree_across_export_files reports it, naming both
    files. A row whose id did not parse is not in the pivot either:
    assert_export_numbers_are_valid names it with its file and line. -#}
{% test one_row_per_period(model, column_name, periods, rows_of) %}

with

failing as (
    select
        {{ column_name }} as customer_id,
        {%- for period in periods %}
        n_rows_{{ period }},
        {%- endfor %}
        n_rows_other_periods
    from {{ model }}
    where
        n_rows_other_periods > 0
        {%- for period in periods %}
        or n_rows_{{ period }} != 1
        {%- endfor %}
),

failing_lines as (
    {{ source_lines_of(rows_of, ['customer_id'], 'failing') }}
),

final as (
    select
        failing.customer_id,
        {%- for period in periods %}
        failing.n_rows_{{ period }} as n_{{ period }},
        {%- endfor %}
        failing.n_rows_other_periods as n_other_periods,
        failing_lines.source_file,
        failing_lines.source_lines,
        'id ' || failing.customer_id
        || ': ' || concat_ws('; '
            {%- for period in periods %},
            case failing.n_rows_{{ period }}
                when 1 then null
                when 0 then 'no row for {{ period }}'
                else failing.n_rows_{{ period }} || ' rows for {{ period }}'
            end
            {%- endfor %},
            case when failing.n_rows_other_periods > 0
                then failing.n_rows_other_periods
                || ' row(s) with an unknown period'
            end
        ) || ' (expected one row per period: {{ periods | join(", ") }})'
            as problem
    from failing
    left join failing_lines
        on failing.customer_id = failing_lines.customer_id
)

select * from final

{% endtest %}

{#- Fails with every customer of `customers` that has not exactly one row per
    period of `periods` in the tested model (a missing month, a repeated
    month), and with every row whose period is not one of `periods`; on
    staging models with the file and lines of the customer's rows. -#}
{% test one_row_per_period(model, column_name, period_column, periods, customers) %}

{%- set lines = has_source_lines(model) %}

with

-- A row whose id did not parse has a null id: assert_export_numbers_are_valid
-- names it with its file and line, so it is not counted here a second time.
customers as (
    select distinct customer_id from {{ customers }}
    where customer_id is not null
),

rows_per_period as (
    select
        {{ column_name }} as customer_id,
        {%- for period in periods %}
        count(*) filter (where {{ period_column }} = '{{ period }}')
            as n_{{ period }},
        {%- endfor %}
        count(*) filter (
            where {{ period_column }} not in ('{{ periods | join("', '") }}')
                or {{ period_column }} is null
        ) as n_other_periods,
        {%- if lines %}
        any_value(source_file) as source_file,
        {{ lines_phrase(smallest_values('source_line', 5), 'count(*)') }} as source_lines,
        {%- endif %}
        count(*) as n_rows
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
),

final as (
    select
        coalesce(customers.customer_id, rows_per_period.customer_id)
            as customer_id,
        {%- for period in periods %}
        coalesce(rows_per_period.n_{{ period }}, 0) as n_{{ period }},
        {%- endfor %}
        coalesce(rows_per_period.n_other_periods, 0) as n_other_periods,
        {%- if lines %}
        rows_per_period.source_file,
        rows_per_period.source_lines,
        {%- endif %}
        'id ' || coalesce(customers.customer_id, rows_per_period.customer_id)
        || ': ' || concat_ws('; '
            {%- for period in periods %},
            case coalesce(rows_per_period.n_{{ period }}, 0)
                when 1 then null
                when 0 then 'no row for {{ period }}'
                else rows_per_period.n_{{ period }} || ' rows for {{ period }}'
            end
            {%- endfor %},
            case when rows_per_period.n_other_periods > 0
                then rows_per_period.n_other_periods
                || ' row(s) with an unknown period'
            end
        ) || ' (expected one row per period: {{ periods | join(", ") }})'
            as problem
    from customers
    full outer join rows_per_period
        on customers.customer_id = rows_per_period.customer_id
)

select * from final
where
    n_other_periods > 0
    {%- for period in periods %}
    or n_{{ period }} != 1
    {%- endfor %}

{% endtest %}

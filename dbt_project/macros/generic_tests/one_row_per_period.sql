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

-- Counts only: the file and lines are looked up below for the failing
-- customers alone, not aggregated (a top-5 list and a text) for every one.
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
        ) as n_other_periods
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
),

counted as (
    select
        coalesce(customers.customer_id, rows_per_period.customer_id)
            as customer_id,
        {%- for period in periods %}
        coalesce(rows_per_period.n_{{ period }}, 0) as n_{{ period }},
        {%- endfor %}
        coalesce(rows_per_period.n_other_periods, 0) as n_other_periods
    from customers
    full outer join rows_per_period
        on customers.customer_id = rows_per_period.customer_id
),

failing as (
    select * from counted
    where
        n_other_periods > 0
        {%- for period in periods %}
        or n_{{ period }} != 1
        {%- endfor %}
),
{%- if lines %}

failing_lines as (
    {{ source_lines_of(model, [column_name], 'failing', ['customer_id']) }}
),
{%- endif %}

final as (
    select
        failing.customer_id,
        {%- for period in periods %}
        failing.n_{{ period }},
        {%- endfor %}
        failing.n_other_periods,
        {%- if lines %}
        failing_lines.source_file,
        failing_lines.source_lines,
        {%- endif %}
        'id ' || failing.customer_id
        || ': ' || concat_ws('; '
            {%- for period in periods %},
            case failing.n_{{ period }}
                when 1 then null
                when 0 then 'no row for {{ period }}'
                else failing.n_{{ period }} || ' rows for {{ period }}'
            end
            {%- endfor %},
            case when failing.n_other_periods > 0
                then failing.n_other_periods
                || ' row(s) with an unknown period'
            end
        ) || ' (expected one row per period: {{ periods | join(", ") }})'
            as problem
    from failing
    {%- if lines %}
    left join failing_lines
        on failing.customer_id = failing_lines.customer_id
    {%- endif %}
)

select * from final

{% endtest %}

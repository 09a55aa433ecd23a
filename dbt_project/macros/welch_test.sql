{#- Welch's two-sample t test in portable SQL, written once for every model
    that compares two groups' means (segment_feature_profile,
    key_segment_profile). Only exp, ln, sqrt, power, abs and arithmetic:
    DuckDB and Spark share them (`^` is XOR on Spark), and neither has a
    t-distribution CDF, so the p-value is a fixed-grid quadrature (below).
    tests/test_welch_test_sql.py checks it against scipy. -#}


{#- Common table expressions `<name>_statistics`, `<name>_p` and `<name>` over
    relation `moments` (one row per `keys`, with the columns n, mean, std of
    one group and comparison_n, comparison_mean, comparison_std of the
    other: counts, means and sample standard deviations). `<name>` is
    `moments` plus difference, relative_difference, standardized_difference
    (difference / the mean of the two variances' root, Cohen's d), welch_t,
    welch_df (Welch–Satterthwaite), p_value (two-sided) and is_significant
    (p_value < var `profile_significance_level`, default 0.05). The test
    needs two customers on each side and some spread: otherwise the
    statistics are null and is_significant false. -#}
{% macro welch_test_ctes(moments, keys, name) %}
{%- set level = var('profile_significance_level', 0.05) %}
{{ name }}_statistics as (
    select
        *,
        mean - comparison_mean as difference,
        (mean - comparison_mean) / nullif(abs(comparison_mean), 0)
            as relative_difference,
        case when n >= 2 and comparison_n >= 2 then
            (mean - comparison_mean)
            / nullif(sqrt((power(std, 2) + power(comparison_std, 2)) / 2), 0)
        end as standardized_difference,
        case when n >= 2 and comparison_n >= 2 then
            (mean - comparison_mean)
            / nullif(
                sqrt(power(std, 2) / n + power(comparison_std, 2)
                / comparison_n),
                0
            )
        end as welch_t,
        case when n >= 2 and comparison_n >= 2 then
            power(power(std, 2) / n + power(comparison_std, 2) / comparison_n, 2)
            / nullif(
                power(power(std, 2) / n, 2) / (n - 1)
                + power(power(comparison_std, 2) / comparison_n, 2)
                / (comparison_n - 1),
                0
            )
        end as welch_df
    from {{ moments }}
),

{{ t_test_p_value_ctes(name ~ '_statistics', keys, 'welch_t', 'welch_df',
                       name ~ '_p') }},

{{ name }} as (
    select
        {{ name }}_statistics.*,
        {{ name }}_p.p_value,
        coalesce({{ name }}_p.p_value < {{ level }}, false) as is_significant
    from {{ name }}_statistics
    left join {{ name }}_p
        on
            {%- for key in keys %}
            {{ name }}_statistics.{{ key }} = {{ name }}_p.{{ key }}
            {{- " and" if not loop.last }}
            {%- endfor %}
)
{% endmacro %}


{#- The columns welch_test_ctes adds to its input's n, mean and std, in the
    order the profile models show them. -#}
{% macro welch_test_columns() %}
    {{ return(['comparison_n', 'comparison_mean', 'comparison_std',
               'difference', 'relative_difference', 'standardized_difference',
               'welch_t', 'welch_df', 'p_value', 'is_significant']) }}
{% endmacro %}


{#- Common table expressions ending in `<name>`: per `keys` of relation
    `input`, the two-sided p-value P(|T| ≥ |t|) of Student's t with `df`
    degrees of freedom (any real df > 0; rows with a null t or df are left
    out).

    With x = √ν·tan θ in the t density, p = N(θ0) / N(0), where
    N(θ0) = ∫ from θ0 to π/2 of cos^(ν−1) θ dθ and θ0 = atan(|t| / √ν).
    Directly on a grid that integrand is hard: it narrows like 1/√ν, and
    for ν < 2 its slope is infinite at π/2. So, with r = −ln cos θ and then
    r = a + s²/ν (a = ln(1 + t²/ν) / 2):
        N(θ0) = exp(−ν·a) / ν · J(a),
        J(a)  = ∫ from 0 to ∞ of 2s·exp(−s²) / √(1 − exp(−2(a + s²/ν))) ds,
    a smooth integrand that decays like exp(−s²) whatever ν and t: Simpson's
    rule on s in [0, 6.4] (exp(−6.4²) < 1e-17) with 512 intervals. J(a) has
    a kink of width about |t| near s = 0, so for |t| < 2 the complement is
    integrated instead, in x = tan θ over [0, |t|/√ν], where the integrand
    (1 + x²)^(−(ν+1)/2) falls by at most e^−2:
        p = 1 − ν · ∫ from 0 to |t|/√ν of (1 + x²)^(−(ν+1)/2) dx / J(0).
    ln(1 + q) and exp(y) − 1 of tiny q and y (large ν) are taken with the
    accurate forms of Goldberg and Kahan (log1p_sql, expm1_sql),
    not by the cancelling formulas. Accuracy against scipy on ν in [1, 1e9],
    |t| in [0, 50] (tests/test_welch_test_sql.py): absolute error under 1e-9
    and relative error under 1e-7 where p ≥ 1e-12 (measured: under 3e-9). -#}
{% macro t_test_p_value_ctes(input, keys, t, df, name) %}
{%- set intervals = 512 %}
{%- set s_max = 6.4 %}
{%- set h = s_max / intervals %}
{%- set y_j = "-2 * (a + power(" ~ h ~ " * k, 2) / nu)" %}
{%- set y_d = "-2 * power(" ~ h ~ " * k, 2) / nu" %}
{%- set x2_c = "power(x_max * k / " ~ intervals ~ ", 2)" %}
{{ name }}_nodes as (
    {{ simpson_nodes(intervals) }}
),

{{ name }}_inputs as (
    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        -- a |t| beyond any data keeps t² finite; its p-value is 0 anyway
        least(abs(cast({{ t }} as double)), 1e100) as t_abs,
        cast({{ df }} as double) as nu
    from {{ input }}
    where {{ t }} is not null and {{ df }} is not null and {{ df }} > 0
),

{{ name }}_scalars as (
    select
        *,
        {{ log1p_sql('power(t_abs, 2) / nu') }} / 2 as a,
        t_abs / sqrt(nu) as x_max
    from {{ name }}_inputs
),

{{ name }}_integrals as (
    select
        {%- for key in keys %}
        {{ name }}_scalars.{{ key }},
        {%- endfor %}
        max(t_abs) as t_abs,
        max(nu) as nu,
        max(a) as a,
        {#- J(0) and J(a); at s = 0 the integrand's limit: √(2ν) for a = 0,
            else 0 #}
        {%- for column, at_zero, y in [('j_zero', 'sqrt(2 * nu)', y_d),
                                       ('j_a', '0', y_j)] %}
        sum(
            weight * case
                when k = 0 then {{ at_zero }}
                else
                    2 * {{ h }} * k * exp(-power({{ h }} * k, 2))
                    / sqrt(-{{ expm1_sql(y) }})
            end
        ) * {{ h }} as {{ column }},
        {%- endfor %}
        sum(
            weight * exp(-(nu + 1) / 2 * {{ log1p_sql(x2_c) }})
        ) * max(x_max) / {{ intervals }} as complement
    from {{ name }}_scalars
    cross join {{ name }}_nodes
    group by
        {%- for key in keys %}
        {{ name }}_scalars.{{ key }}{{ "," if not loop.last }}
        {%- endfor %}
),

{{ name }} as (
    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        greatest(least(
            case
                when t_abs < 2 then 1 - nu * complement / j_zero
                else exp(-nu * a) * j_a / j_zero
            end,
            1), 0) as p_value
    from {{ name }}_integrals
)
{% endmacro %}


{#- Nodes k = 0..intervals (even) and Simpson weights 1, 4, 2, …, 4, 1
    (divided by 3: multiply the weighted sum by the step). From a union of
    digits, not a DuckDB range(), so it runs on any engine. -#}
{% macro simpson_nodes(intervals) %}
{%- set digits -%}
    {%- for digit in range(10) -%}
        select {{ digit }} as digit{{ " union all " if not loop.last }}
    {%- endfor -%}
{%- endset %}
select
    k,
    case
        when k = 0 or k = {{ intervals }} then 1
        when k % 2 = 1 then 4
        else 2
    end / 3.0 as weight
from (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as k
    from ({{ digits }}) as ones
    cross join ({{ digits }}) as tens
    cross join ({{ digits }}) as hundreds
) as numbers
where k <= {{ intervals }}
{%- if intervals > 999 or intervals % 2 != 0 %}
    {{ exceptions.raise_compiler_error(
        'simpson_nodes: intervals must be even and below 1000') }}
{%- endif %}
{% endmacro %}


{#- ln(1 + q) accurate for tiny q too: ln(u)·q/(u − 1) with u = 1 + q
    rounded (Goldberg, "What every computer scientist should know about
    floating-point arithmetic", theorem 4); q itself when u rounds to 1. -#}
{% macro log1p_sql(q) -%}
    case
        when 1 + ({{ q }}) = 1 then ({{ q }})
        else ln(1 + ({{ q }})) * ({{ q }}) / ((1 + ({{ q }})) - 1)
    end
{%- endmacro %}


{#- exp(y) − 1 accurate for tiny y too: (u − 1)·y/ln(u) with u = exp(y)
    (Kahan's identity); y itself when u rounds to 1. -#}
{% macro expm1_sql(y) -%}
    case
        when exp({{ y }}) = 1 then ({{ y }})
        else (exp({{ y }}) - 1) * ({{ y }}) / ln(exp({{ y }}))
    end
{%- endmacro %}

-- The key segment (var `key_segment`, default high_risk_high_profit: the
-- customers worth keeping) against the comparable low-risk group (var
-- `comparison_segment`, default low_risk_high_profit), feature by feature.
-- A difference is called significant when Welch's t statistic is at least
-- 1.96 in absolute value (two-sided 5 % under the normal approximation,
-- sound for groups of a few dozen customers or more) and both groups have
-- at least 2 customers.
{%- set numeric = mart_columns(['numeric']) %}
{%- set key_segment = var('key_segment', 'high_risk_high_profit') %}
{%- set comparison_segment = var(
    'comparison_segment', 'low_risk_high_profit'
) %}

with

segments as (
    select * from {{ ref('customer_segments') }}
),

customers as (
    select * from {{ ref('customer_features') }}
),

long_values as (
    {%- for feature in numeric + ['allow_messages'] %}
        select
            segments.segment,
            '{{ feature }}' as feature,
            cast(customers.{{ feature }} as double) as feature_value
        from segments
        inner join customers on segments.customer_id = customers.customer_id
        where segments.segment in (
                '{{ key_segment }}', '{{ comparison_segment }}'
            )
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

per_group as (
    select
        feature,
        avg(feature_value) filter (where segment = '{{ key_segment }}')
            as key_mean,
        stddev_samp(feature_value) filter (where segment = '{{ key_segment }}')
            as key_std,
        count(*) filter (where segment = '{{ key_segment }}') as key_n,
        avg(feature_value) filter (where segment = '{{ comparison_segment }}')
            as comparison_mean,
        stddev_samp(feature_value) filter (
            where segment = '{{ comparison_segment }}'
        ) as comparison_std,
        count(*) filter (where segment = '{{ comparison_segment }}')
            as comparison_n
    from long_values
    group by feature
),

compared as (
    select
        *,
        key_mean - comparison_mean as difference,
        (key_mean - comparison_mean) / nullif(abs(comparison_mean), 0)
            as relative_difference,
        (key_mean - comparison_mean)
        -- power(), not `^`, which is XOR on Spark
        / nullif(
            sqrt((power(key_std, 2) + power(comparison_std, 2)) / 2), 0
        )
            as standardized_difference,
        (key_mean - comparison_mean)
        / nullif(
            sqrt(
                power(key_std, 2) / key_n
                + power(comparison_std, 2) / comparison_n
            ),
            0
        ) as welch_t
    from per_group
    where key_n >= 2 and comparison_n >= 2
),

final as (
    select
        '{{ key_segment }}' as key_segment,
        '{{ comparison_segment }}' as comparison_segment,
        feature,
        key_n,
        key_mean,
        key_std,
        comparison_n,
        comparison_mean,
        comparison_std,
        difference,
        relative_difference,
        standardized_difference,
        welch_t,
        coalesce(abs(welch_t) >= 1.96, false) as is_significant,
        row_number() over (
            order by abs(coalesce(standardized_difference, 0)) desc, feature asc
        ) as difference_rank
    from compared
)

select * from final

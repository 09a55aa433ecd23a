-- The key segment (var `key_segment`, default high_risk_high_profit: the
-- customers worth keeping) against the comparable low-risk group (var
-- `comparison_segment`, default low_risk_high_profit), feature by feature:
-- the two segments' moments from segment_feature_profile, compared by the
-- same Welch test (macros/welch_test.sql). A difference is significant when
-- the two-sided p-value is below var `profile_significance_level` (0.05).
-- Only features with at least 2 customers in each group are listed.
{%- set key_segment = key_segment_name() %}
{%- set comparison_segment = var(
    'comparison_segment', 'low_risk_high_profit'
) %}

with

profile as (
    select * from {{ ref('segment_feature_profile') }}
),

moments as (
    select
        key_side.feature,
        key_side.n,
        key_side.mean,
        key_side.std,
        comparison_side.n as comparison_n,
        comparison_side.mean as comparison_mean,
        comparison_side.std as comparison_std
    from profile as key_side
    inner join profile as comparison_side
        on key_side.feature = comparison_side.feature
    where
        key_side.segment = '{{ key_segment }}'
        and comparison_side.segment = '{{ comparison_segment }}'
        and key_side.n >= 2
        and comparison_side.n >= 2
),

{{ welch_test_ctes('moments', ['feature'], 'compared') }},

final as (
    select
        '{{ key_segment }}' as key_segment,
        '{{ comparison_segment }}' as comparison_segment,
        feature,
        n as key_n,
        mean as key_mean,
        std as key_std,
        {%- for column in welch_test_columns() %}
            {{ column }},
        {%- endfor %}
        row_number() over (
            order by abs(coalesce(standardized_difference, 0)) desc, feature asc
        ) as difference_rank
    from compared
)

select * from final

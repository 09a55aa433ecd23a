-- Every segment against all other customers of the feature mart, feature by
-- feature: each side's count, mean and sample standard deviation, the
-- difference and Welch's test (macros/welch_test.sql). Features: the
-- contract's numeric ones and its yes/no ones as shares (profile_features).
-- Customers of the mart without a prediction count among the others.
--
-- The others' moments are pooled from per-group moments (Chan et al.'s
-- parallel formula: variance from within-group sums of squares plus the
-- groups' spread around the pooled mean) rather than from sums of squares
-- over all customers, which cancel catastrophically for large values.
{%- set features = profile_features() %}

with

customers as (
    select * from {{ ref('customer_features') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

segment_names as (
    select * from {{ ref('segment_names') }}
),

-- One scan of the mart: per group (a segment, or null for customers without
-- a prediction) the count, mean and variance of every feature.
per_group_wide as (
    select
        {%- for feature in features %}
            count(customers.{{ feature }}) as n_{{ loop.index }},
            avg(cast(customers.{{ feature }} as double))
                as mean_{{ loop.index }},
            var_samp(cast(customers.{{ feature }} as double))
                as variance_{{ loop.index }},
        {%- endfor %}
        segments.segment as member_of
    from customers
    left join segments on customers.customer_id = segments.customer_id
    group by segments.segment
),

per_group as (
    {%- for feature in features %}
        select
            member_of,
            '{{ feature }}' as feature,
            n_{{ loop.index }} as n,
            mean_{{ loop.index }} as mean,
            -- the within-group sum of squared deviations
            coalesce(variance_{{ loop.index }}, 0) * (n_{{ loop.index }} - 1)
                as sum_of_squares
        from per_group_wide
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

profiled_features as (
    select distinct per_group.feature from per_group
),

segment_features as (
    select
        segment_names.segment,
        profiled_features.feature
    from segment_names
    cross join profiled_features
),

inside as (
    select
        segment_features.segment,
        segment_features.feature,
        coalesce(per_group.n, 0) as n,
        per_group.mean,
        case
            when per_group.n >= 2
                then sqrt(per_group.sum_of_squares / (per_group.n - 1))
        end as std
    from segment_features
    left join per_group
        on
            segment_features.segment = per_group.member_of
            and segment_features.feature = per_group.feature
),

-- Every other group of the segment's feature, pooled: count and mean first.
others as (
    select
        segment_features.segment,
        segment_features.feature,
        per_group.n,
        per_group.mean,
        per_group.sum_of_squares
    from segment_features
    inner join per_group
        on
            segment_features.feature = per_group.feature
            and (
                per_group.member_of is null
                or segment_features.segment != per_group.member_of
            )
    where per_group.n > 0
),

others_pooled_mean as (
    select
        segment,
        feature,
        sum(n) as n,
        sum(n * mean) / sum(n) as mean
    from others
    group by segment, feature
),

-- Then the spread: within-group sums of squares plus each group's distance
-- from the pooled mean.
others_pooled as (
    select
        others.segment,
        others.feature,
        others_pooled_mean.n,
        others_pooled_mean.mean,
        case
            when others_pooled_mean.n >= 2
                then sqrt(
                        sum(
                            others.sum_of_squares
                            + others.n
                            * power(others.mean - others_pooled_mean.mean, 2)
                        )
                        / (others_pooled_mean.n - 1)
                    )
        end as std
    from others
    inner join others_pooled_mean
        on
            others.segment = others_pooled_mean.segment
            and others.feature = others_pooled_mean.feature
    group by
        others.segment,
        others.feature,
        others_pooled_mean.n,
        others_pooled_mean.mean
),

moments as (
    select
        inside.segment,
        inside.feature,
        inside.n,
        inside.mean,
        inside.std,
        coalesce(others_pooled.n, 0) as comparison_n,
        others_pooled.mean as comparison_mean,
        others_pooled.std as comparison_std
    from inside
    left join others_pooled
        on
            inside.segment = others_pooled.segment
            and inside.feature = others_pooled.feature
),

{{ welch_test_ctes('moments', ['segment', 'feature'], 'compared') }},

final as (
    select
        segment,
        feature,
        n,
        mean,
        std,
        {%- for column in welch_test_columns() %}
            {{ column }},
        {%- endfor %}
        row_number() over (
            partition by segment
            order by abs(coalesce(standardized_difference, 0)) desc, feature asc
        ) as difference_rank
    from compared
)

select * from final

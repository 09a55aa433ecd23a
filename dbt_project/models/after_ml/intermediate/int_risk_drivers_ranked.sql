-- Why each customer is at risk: every feature's SHAP value for the latest
-- run (exact, from the model that produced the customer's p_decline, in
-- probability units), the customer's value of it, whether that value is high
-- or low against the population median (numeric) or which label it is
-- (categorical), the reason in words (seed `feature_reasons`), and the
-- feature's rank among the customer's drivers toward decline.
{%- set numeric = numeric_features() %}
{%- set categorical = categorical_features() %}
{%- set actionable = actionable_features() %}

with

customers as (
    select * from {{ ref('customer_features') }}
),

latest as (
    select * from {{ ref('int_predictions_filtered_to_latest_run') }}
),

shap as (
    select * from {{ ref('stg_ml__shap_values') }}
),

reasons as (
    select * from {{ ref('feature_reasons') }}
),

-- The population median of each numeric feature, one row per feature.
medians as (
    {%- for feature in numeric %}
        select
            '{{ feature }}' as feature,
            median({{ feature }}) as median_value
        from customers
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

latest_run as (
    select distinct latest.run_id from latest
),

-- Features the seed gives a reason for: only they can become a customer's
-- reason_1..3 or an offer's driver (a feature without words stays in the
-- table, unranked).
reasoned_features as (
    select distinct reasons.feature from reasons
),

-- The latest run's rows, picked by run id (a filter, not a join of 16 M
-- rows at a million customers); they carry the customer's value of the
-- feature as the model saw it, so the mart need not be joined back, and the
-- feature's rank by SHAP among all and among actionable features, ranked
-- when the SHAP values were computed.
latest_shap as (
    select
        shap.customer_id,
        shap.feature,
        shap.shap_value,
        shap.feature_value,
        shap.feature_value_num,
        shap.shap_rank,
        shap.actionable_shap_rank,
        shap.feature in ({{ "'" ~ actionable | join("', '") ~ "'" }})
            as is_actionable,
        shap.feature in (
            select reasoned_features.feature from reasoned_features
        ) as has_reason
    from shap
    where
        shap.run_id in (select latest_run.run_id from latest_run)
        and shap.feature in (
            {{ "'" ~ (numeric + categorical) | join("', '") ~ "'" }}
        )
),

-- A driver pushes toward decline (positive SHAP) and has a reason.
flagged as (
    select
        *,
        shap_value > 0 and has_reason as is_driver
    from latest_shap
),

-- Ranked by SHAP (largest first, ties by name), a customer's positive
-- features come first, so when each of them is a driver the written rank is
-- the driver rank, and likewise among the actionable ones. Customers for
-- whom that does not hold are ranked here instead: a positive feature
-- without a reason, or ranks not written (runs scored on Spark or written
-- before the ranks were) or written for another set of actionable features.
customers_to_rank as (
    select distinct customer_id
    from flagged
    where
        shap_rank is null
        or (shap_value > 0 and not has_reason)
        or (is_actionable and actionable_shap_rank is null)
        or (not is_actionable and actionable_shap_rank is not null)
),

-- Only their drivers go through the window (usually none: its sort was
-- most of this model's cost at a million customers). In descending SHAP
-- order a driver's position is its rank, and the actionable drivers
-- counted up to it give its rank among the actionable ones.
ranked_here as (
    select
        *,
        row_number() over by_customer as driver_rank,
        case
            when is_actionable
                then
                    -- a sum, not `count(*) filter (...)`, and the window
                    -- spelt out, not `by_customer rows ...`: Spark allows
                    -- neither a filter clause on a window function nor a
                    -- frame added to a named window
                    cast(sum(case when is_actionable then 1 else 0 end) over (
                        partition by customer_id
                        order by shap_value desc, feature asc
                        rows between unbounded preceding and current row
                    ) as bigint)
        end as actionable_driver_rank
    from flagged
    where
        is_driver
        and customer_id in (
            select customers_to_rank.customer_id from customers_to_rank
        )
    window by_customer as (
        partition by customer_id order by shap_value desc, feature asc
    )
),

ranked as (
    select * from ranked_here
    union all
    select
        *,
        case when is_driver then cast(shap_rank as bigint) end as driver_rank,
        case
            when is_driver and is_actionable
                then cast(actionable_shap_rank as bigint)
        end as actionable_driver_rank
    from flagged
    where
        not is_driver
        or customer_id not in (
            select customers_to_rank.customer_id from customers_to_rank
        )
),

-- High or low against the population median (numeric), the label
-- (categorical): a join to the one-row-per-feature medians.
valued as (
    select
        ranked.*,
        case
            when
                ranked.feature in (
                    {{ "'" ~ categorical | join("', '") ~ "'" }}
                )
                then lower(ranked.feature_value)
            when ranked.feature_value_num >= medians.median_value then 'high'
            else 'low'
        end as feature_level
    from ranked
    left join medians on ranked.feature = medians.feature
),

final as (
    select
        valued.customer_id,
        valued.feature,
        valued.shap_value,
        valued.feature_value,
        valued.feature_level,
        valued.is_actionable,
        replace(
            coalesce(
                level_reason.reason_{{ reason_language() }},
                any_reason.reason_{{ reason_language() }},
                valued.feature
            ),
            '{value}',
            coalesce(valued.feature_value, '')
        ) as reason,
        -- rank among the features pushing toward decline (positive SHAP)
        valued.driver_rank,
        valued.actionable_driver_rank
    from valued
    left join reasons as level_reason
        on
            valued.feature = level_reason.feature
            and lower(level_reason.level) = valued.feature_level
    left join reasons as any_reason
        on valued.feature = any_reason.feature and any_reason.level = '*'
)

select * from final

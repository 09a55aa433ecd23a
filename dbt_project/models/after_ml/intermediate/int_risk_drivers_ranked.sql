-- Why each customer is at risk: every feature's SHAP value for the latest
-- run (exact, from the model that produced the customer's p_decline, in
-- probability units), the customer's value of it, whether that value is high
-- or low against the population median (numeric) or which label it is
-- (categorical), the reason in words (seed `feature_reasons`), and the
-- feature's rank among the customer's drivers toward decline.
{%- set numeric = numeric_features() %}
{%- set categorical = categorical_features() %}
{%- set actionable = actionable_features() %}
{%- set actionable_list = "'" ~ actionable | join("', '") ~ "'" %}
{%- set feature_list = "'" ~ (numeric + categorical) | join("', '") ~ "'" %}

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
-- when the SHAP values were computed. A driver pushes toward decline
-- (positive SHAP) and has a reason.
latest_shap as (
    select
        shap.customer_id,
        shap.feature,
        shap.shap_value,
        shap.feature_value,
        shap.feature_value_num,
        shap.shap_rank,
        shap.actionable_shap_rank,
        shap.feature in ({{ actionable_list }}) as is_actionable,
        shap.shap_value > 0
        and shap.feature in (
            select reasoned_features.feature from reasoned_features
        ) as is_driver
    from shap
    where
        shap.run_id in (select latest_run.run_id from latest_run)
        and shap.feature in ({{ feature_list }})
),

-- Ranked by SHAP (largest first, ties by name), a customer's positive
-- features come first, so when each of them is a driver the written rank is
-- the driver rank, and likewise among the actionable ones. The customers
-- for whom that does not hold are ranked here instead (usually none): a
-- positive feature without a reason, ranks not written (a run scored on
-- Spark or written before the ranks were) or written for other actionable
-- features. These two CTEs read the source again rather than `latest_shap`:
-- DuckDB keeps a CTE read by several others in memory, 16 M rows here.
customers_to_rank as (
    select distinct shap_checked.customer_id
    from {{ ref('stg_ml__shap_values') }} as shap_checked
    where
        shap_checked.run_id in (select latest_run.run_id from latest_run)
        and shap_checked.feature in ({{ feature_list }})
        and (
            shap_checked.shap_rank is null
            or (
                shap_checked.shap_value > 0
                and shap_checked.feature not in (
                    select reasoned_features.feature from reasoned_features
                )
            )
            or (
                shap_checked.feature in ({{ actionable_list }})
                and shap_checked.actionable_shap_rank is null
            )
            or (
                shap_checked.feature not in ({{ actionable_list }})
                and shap_checked.actionable_shap_rank is not null
            )
        )
),

rows_to_rank as (
    select
        shap_again.customer_id,
        shap_again.feature,
        shap_again.shap_value,
        shap_again.feature in ({{ actionable_list }}) as is_actionable
    -- joined, not filtered with `in (...)`: DuckDB then builds its hash
    -- table on the few customers, not on millions of rows
    from customers_to_rank
    inner join {{ ref('stg_ml__shap_values') }} as shap_again
        on customers_to_rank.customer_id = shap_again.customer_id
    where
        shap_again.run_id in (select latest_run.run_id from latest_run)
        and shap_again.shap_value > 0
        and shap_again.feature in (
            select reasoned_features.feature from reasoned_features
        )
        and shap_again.feature in ({{ feature_list }})
),

-- In descending SHAP order a driver's position is its rank, and the
-- actionable drivers counted up to it give its rank among the actionable
-- ones.
ranked_here as (
    select
        customer_id,
        feature,
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
    from rows_to_rank
    window by_customer as (
        partition by customer_id order by shap_value desc, feature asc
    )
),

ranked as (
    select
        latest_shap.*,
        case
            when ranked_here.customer_id is not null
                then ranked_here.driver_rank
            when latest_shap.is_driver
                then cast(latest_shap.shap_rank as bigint)
        end as driver_rank,
        case
            when ranked_here.customer_id is not null
                then ranked_here.actionable_driver_rank
            when latest_shap.is_driver and latest_shap.is_actionable
                then cast(latest_shap.actionable_shap_rank as bigint)
        end as actionable_driver_rank
    from latest_shap
    left join ranked_here
        on
            latest_shap.customer_id = ranked_here.customer_id
            and latest_shap.feature = ranked_here.feature
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

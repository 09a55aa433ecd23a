-- Why each customer is at risk: every feature's SHAP value for the latest
-- run, the customer's value of it, whether that value is high or low
-- against the population median (numeric) or which label it is
-- (categorical), the reason in words (seed `feature_reasons`), and the
-- feature's rank among the customer's drivers toward decline.
{%- set numeric = mart_columns(['numeric']) %}
{%- set categorical = mart_columns(['categorical']) %}
{%- set actionable = mart_columns(['numeric', 'categorical'], true) %}
{%- set language = var('reason_language', 'en') %}

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

medians as (
    select
        {%- for feature in numeric %}
            median({{ feature }}) as {{ feature }},
        {%- endfor %}
        count(*) as n_customers
    from customers
),

latest_shap as (
    select
        shap.customer_id,
        shap.feature,
        shap.shap_value,
        shap.feature in ({{ "'" ~ actionable | join("', '") ~ "'" }})
            as is_actionable
    from shap
    inner join latest
        on shap.customer_id = latest.customer_id and shap.run_id = latest.run_id
    where
        shap.feature in (
            {{ "'" ~ (numeric + categorical) | join("', '") ~ "'" }}
        )
),

-- Ranks first, on narrow rows (the sort is most of this model's cost at a
-- million customers). One window, one sort, for both ranks: in descending
-- SHAP order the positive values come first, so a positive row's position
-- is its rank among the drivers toward decline, and the actionable rows
-- counted up to it give its rank among the actionable ones.
ranked as (
    select
        customer_id,
        feature,
        shap_value,
        is_actionable,
        case
            when shap_value > 0 then row_number() over by_customer
        end as driver_rank,
        case
            when shap_value > 0 and is_actionable
                then
                    count(*) filter (where is_actionable) over (
                        by_customer
                        rows between unbounded preceding and current row
                    )
        end as actionable_driver_rank
    from latest_shap
    window by_customer as (
        partition by customer_id order by shap_value desc, feature asc
    )
),

-- Each row then takes its own feature's value from the customer's mart row:
-- one join on customer_id, instead of joining an unpivoted copy of the mart
-- (customers x features rows) on two keys.
valued as (
    select
        ranked.*,
        case ranked.feature
            {%- for feature in numeric + categorical %}
                when '{{ feature }}'
                    then cast(customers.{{ feature }} as varchar)
            {%- endfor %}
        end as feature_value,
        case ranked.feature
            {%- for feature in numeric %}
                when '{{ feature }}'
                    then
                        case
                            when
                                customers.{{ feature }}
                                >= medians.{{ feature }}
                                then 'high'
                            else 'low'
                        end
            {%- endfor %}
            {%- for feature in categorical %}
                when '{{ feature }}'
                    then lower(cast(customers.{{ feature }} as varchar))
            {%- endfor %}
        end as feature_level
    from ranked
    inner join customers on ranked.customer_id = customers.customer_id
    cross join medians
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
                level_reason.reason_{{ language }},
                any_reason.reason_{{ language }},
                valued.feature
            ),
            '{value}',
            valued.feature_value
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

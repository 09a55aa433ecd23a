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

feature_values as (
    {%- for feature in numeric %}
        select
            customers.customer_id,
            '{{ feature }}' as feature,
            cast(customers.{{ feature }} as varchar) as feature_value,
            case
                when customers.{{ feature }} >= medians.{{ feature }}
                    then 'high'
                else 'low'
            end as feature_level
        from customers
        cross join medians
        union all
    {%- endfor %}
    {%- for feature in categorical %}
        select
            customer_id,
            '{{ feature }}' as feature,
            cast({{ feature }} as varchar) as feature_value,
            lower(cast({{ feature }} as varchar)) as feature_level
        from customers
        {{ "union all" if not loop.last }}
    {%- endfor %}
),

drivers as (
    select
        shap.customer_id,
        shap.feature,
        shap.shap_value,
        feature_values.feature_value,
        feature_values.feature_level,
        shap.feature in ({{ "'" ~ actionable | join("', '") ~ "'" }})
            as is_actionable,
        replace(
            coalesce(
                level_reason.reason_{{ language }},
                any_reason.reason_{{ language }},
                shap.feature
            ),
            '{value}',
            feature_values.feature_value
        ) as reason
    from shap
    inner join latest
        on shap.customer_id = latest.customer_id and shap.run_id = latest.run_id
    inner join feature_values
        on
            shap.customer_id = feature_values.customer_id
            and shap.feature = feature_values.feature
    left join reasons as level_reason
        on
            shap.feature = level_reason.feature
            and lower(level_reason.level) = feature_values.feature_level
    left join reasons as any_reason
        on shap.feature = any_reason.feature and any_reason.level = '*'
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, shap_value > 0
            order by shap_value desc, feature asc
        ) as rank_within_sign,
        row_number() over (
            partition by customer_id, shap_value > 0 and is_actionable
            order by shap_value desc, feature asc
        ) as rank_within_actionable_sign
    from drivers
),

final as (
    select
        customer_id,
        feature,
        shap_value,
        feature_value,
        feature_level,
        is_actionable,
        reason,
        -- rank among the features pushing toward decline (positive SHAP)
        case when shap_value > 0 then rank_within_sign end as driver_rank,
        case
            when shap_value > 0 and is_actionable
                then rank_within_actionable_sign
        end as actionable_driver_rank
    from ranked
)

select * from final

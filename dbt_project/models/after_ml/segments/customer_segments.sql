-- Every active customer with the latest probability of decline, a risk band,
-- a profitability band, the segment they fall in, the profit at risk and the
-- three strongest reasons. Thresholds are dbt vars so analysts can re-cut:
--   risk_threshold   default: the model run's decision threshold
--   profit_threshold default: the median profit of active customers
{%- set risk_threshold = var('risk_threshold', none) %}
{%- set profit_threshold = var('profit_threshold', none) %}

with

customers as (
    select * from {{ ref('customer_features') }}
),

predictions as (
    select * from {{ ref('int_predictions_filtered_to_latest_run') }}
),

drivers as (
    select * from {{ ref('int_risk_drivers_ranked') }}
),

segment_names as (
    select * from {{ ref('segment_names') }}
),

thresholds as (
    select
        {%- if risk_threshold is none %}
            (select max(threshold) from predictions)
        {%- else %}
            cast({{ risk_threshold }} as double)
        {%- endif %} as risk_threshold,
        {%- if profit_threshold is none %}
            (select median(profit) from customers)
        {%- else %}
            cast({{ profit_threshold }} as double)
        {%- endif %} as profit_threshold
),

top_reasons as (
    select
        customer_id,
        max(case when driver_rank = 1 then reason end) as reason_1,
        max(case when driver_rank = 2 then reason end) as reason_2,
        max(case when driver_rank = 3 then reason end) as reason_3
    from drivers
    group by customer_id
),

banded as (
    select
        customers.customer_id,
        predictions.p_decline,
        customers.profit,
        predictions.p_decline * customers.profit as profit_at_risk,
        customers.allow_messages,
        case
            when predictions.p_decline >= thresholds.risk_threshold
                then 'high_risk'
            else 'low_risk'
        end as risk_band,
        case
            when customers.profit > thresholds.profit_threshold
                then 'high_profit'
            else 'low_profit'
        end as profit_band,
        thresholds.risk_threshold,
        thresholds.profit_threshold,
        predictions.run_id
    from customers
    inner join predictions on customers.customer_id = predictions.customer_id
    cross join thresholds
),

final as (
    select
        banded.customer_id,
        banded.p_decline,
        banded.risk_band,
        banded.profit,
        banded.profit_band,
        segment_names.segment,
        segment_names.name_en as segment_name,
        segment_names.name_ru as segment_name_ru,
        segment_names.segment
        = '{{ key_segment_name() }}' as is_key_segment,
        banded.profit_at_risk,
        top_reasons.reason_1,
        top_reasons.reason_2,
        top_reasons.reason_3,
        banded.allow_messages,
        banded.risk_threshold,
        banded.profit_threshold,
        banded.run_id
    from banded
    inner join segment_names
        on
            banded.risk_band = segment_names.risk_band
            and banded.profit_band = segment_names.profit_band
    left join top_reasons on banded.customer_id = top_reasons.customer_id
)

select * from final

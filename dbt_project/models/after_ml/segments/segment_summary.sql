-- One row per segment: size, share, risk, profit, profit at risk and the
-- mean of every behavioural feature (the contract's numeric features).
{%- set numeric = mart_columns(['numeric']) %}

with

segments as (
    select * from {{ ref('customer_segments') }}
),

customers as (
    select * from {{ ref('customer_features') }}
),

segment_names as (
    select * from {{ ref('segment_names') }}
),

per_segment as (
    select
        segments.segment,
        count(*) as n_customers,
        avg(segments.p_decline) as mean_p_decline,
        sum(segments.profit) as total_profit,
        avg(segments.profit) as mean_profit,
        sum(segments.profit_at_risk) as total_profit_at_risk,
        avg(cast(customers.allow_messages as integer))
            as share_allowing_messages,
        {%- for feature in numeric %}
            avg(customers.{{ feature }}) as mean_{{ feature }},
        {%- endfor %}
        bool_or(segments.is_key_segment) as is_key_segment
    from segments
    inner join customers on segments.customer_id = customers.customer_id
    group by segments.segment
),

final as (
    select
        segment_names.segment,
        segment_names.name_en as segment_name,
        segment_names.name_ru as segment_name_ru,
        segment_names.risk_band,
        segment_names.profit_band,
        coalesce(per_segment.n_customers, 0) as n_customers,
        coalesce(per_segment.n_customers, 0)
        / sum(coalesce(per_segment.n_customers, 0)) over () as customer_share,
        per_segment.mean_p_decline,
        coalesce(per_segment.total_profit, 0) as total_profit,
        per_segment.mean_profit,
        coalesce(per_segment.total_profit_at_risk, 0) as total_profit_at_risk,
        per_segment.share_allowing_messages,
        {%- for feature in numeric %}
            per_segment.mean_{{ feature }},
        {%- endfor %}
        segment_names.segment
        = '{{ key_segment_name() }}' as is_key_segment
    from segment_names
    left join per_segment on segment_names.segment = per_segment.segment
)

select * from final

{#- dbt vars that several post-ML models read: each default stands here
    once, so a model cannot fall back to a different segment or language
    than its neighbours when the var is not given. -#}

{#- The segment worth keeping (customer_segments.is_key_segment,
    segment_summary, key_segment_profile). -#}
{% macro key_segment_name() -%}
    {{ return(var('key_segment', 'high_risk_high_profit')) }}
{%- endmacro %}

{#- The language of reasons and offers: a column suffix of the seeds
    feature_reasons and offer_catalogue (en or ru). -#}
{% macro reason_language() -%}
    {{ return(var('reason_language', 'en')) }}
{%- endmacro %}

-- Every customer record with its monthly revenue and minutes, and two kinds
-- of duplicate flags:
--   * a repeated id (`n_records_with_id` > 1): which copy is true cannot be
--     told, so every copy is quarantined (kept out of the mart, audited);
--   * records identical on every attribute, revenue and minutes but the id
--     (possible double registrations): kept, and grouped by
--     `duplicate_group_id` = the smallest id of the group, so the ML step can
--     keep a group on one side of every split. Profit is not compared: the
--     known double registrations differ in it.
{%- set attributes = [
    'activity_declined', 'service_type', 'allow_messages',
    'marketing_activity_6m', 'marketing_activity_current_month',
    'tenure_days', 'promo_purchase_share', 'favourite_category',
    'avg_categories_per_visit', 'unpaid_items_quarter', 'service_errors',
    'pages_per_visit',
] %}
{%- for period in revenue_periods() %}
    {%- do attributes.append('revenue_' ~ period ~ '_raw') %}
{%- endfor %}
{%- for period in minutes_periods() %}
    {%- do attributes.append('minutes_' ~ period) %}
{%- endfor %}

with

customers as (
    select * from {{ ref('stg_shop_export__customers') }}
),

revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

minutes as (
    select * from {{ ref('int_minutes_pivoted_to_periods') }}
),

joined as (
    select
        customers.*,
        {%- for period in revenue_periods() %}
            revenues.revenue_{{ period }},
            revenues.revenue_{{ period }}_raw,
        {%- endfor %}
        revenues.n_zero_revenue_months,
        revenues.n_implausible_months,
        {%- for period in minutes_periods() %}
            minutes.minutes_{{ period }},
        {%- endfor %}
        count(*) over (partition by customers.customer_id)
            as n_records_with_id
    from customers
    left join revenues on customers.customer_id = revenues.customer_id
    left join minutes on customers.customer_id = minutes.customer_id
),

grouped as (
    select
        *,
        min(customer_id) over (
            partition by {{ attributes | join(', ') }}
        ) as duplicate_group_id,
        count(*) over (
            partition by {{ attributes | join(', ') }}
        ) as duplicate_group_size
    from joined
)

select * from grouped

-- Every customer record with its monthly revenue and minutes, and two kinds
-- of duplicate flags:
--   * a repeated id (`n_records_with_id` > 1): which copy is true cannot be
--     told, so every copy is quarantined (kept out of the mart, audited);
--   * records identical on every attribute, revenue and minutes but the id
--     (possible double registrations): kept, and grouped by
--     `duplicate_group_id` = the smallest id of the group, so the ML step can
--     keep a group on one side of every split. Profit is not compared: the
--     known double registrations differ in it.
-- Speed: windows over all records partitioned by 17 columns and by id
-- buffered every wide row and were the slowest step at 1 M customers. Records
-- identical on all 17 attributes are identical on the 12 from market_file,
-- so only records whose hash of those 12 is shared by another record can
-- have a twin; the exact 17-column grouping runs on those few. A hash
-- collision only adds a candidate, never a false group.
{%- set customer_attributes = [
    'activity_declined', 'service_type', 'allow_messages',
    'marketing_activity_6m', 'marketing_activity_current_month',
    'tenure_days', 'promo_purchase_share', 'favourite_category',
    'avg_categories_per_visit', 'unpaid_items_quarter', 'service_errors',
    'pages_per_visit',
] %}
{%- set revenue_attributes = [] %}
{%- for period in revenue_periods() %}
    {%- do revenue_attributes.append('revenue_' ~ period ~ '_raw') %}
{%- endfor %}
{%- set minutes_attributes = [] %}
{%- for period in minutes_periods() %}
    {%- do minutes_attributes.append('minutes_' ~ period) %}
{%- endfor %}
{%- set attributes = customer_attributes + revenue_attributes
    + minutes_attributes %}

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

-- ids on more than one record (few): joining these is cheaper than a count
-- per id for every record
repeated_ids as (
    select
        customer_id,
        count(*) as n_records_with_id
    from {{ ref('stg_shop_export__customers') }}
    group by customer_id
    having count(*) > 1
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
        coalesce(repeated_ids.n_records_with_id, 1) as n_records_with_id
    from customers
    left join revenues on customers.customer_id = revenues.customer_id
    left join minutes on customers.customer_id = minutes.customer_id
    left join repeated_ids
        on customers.customer_id is not distinct from repeated_ids.customer_id
),

shared_customer_attributes as (
    select hash({{ customer_attributes | join(', ') }}) as attributes_hash
    from {{ ref('stg_shop_export__customers') }}
    group by attributes_hash
    having count(*) > 1
),

-- The tables again under other names, not the CTEs above: DuckDB keeps a CTE
-- that is read twice in memory, all its wide rows.
candidate_customers as (
    select * from {{ ref('stg_shop_export__customers') }}
),

candidate_revenues as (
    select * from {{ ref('int_revenues_flagged_for_implausible_values') }}
),

candidate_minutes as (
    select * from {{ ref('int_minutes_pivoted_to_periods') }}
),

-- the records that may have a twin, with every compared attribute
candidates as (
    select
        {%- for attribute in customer_attributes %}
            candidate_customers.{{ attribute }},
        {%- endfor %}
        {%- for attribute in revenue_attributes %}
            candidate_revenues.{{ attribute }},
        {%- endfor %}
        {%- for attribute in minutes_attributes %}
            candidate_minutes.{{ attribute }},
        {%- endfor %}
        candidate_customers.customer_id,
        candidate_customers.source_line
    from candidate_customers
    left join candidate_revenues
        on candidate_customers.customer_id = candidate_revenues.customer_id
    left join candidate_minutes
        on candidate_customers.customer_id = candidate_minutes.customer_id
    where
        hash({{ 'candidate_customers.' ~ customer_attributes
            | join(', candidate_customers.') }}) in (
            select shared_customer_attributes.attributes_hash
            from shared_customer_attributes
        )
),

candidate_groups as (
    select
        source_line,
        min(customer_id) over (
            partition by {{ attributes | join(', ') }}
        ) as duplicate_group_id,
        count(*) over (
            partition by {{ attributes | join(', ') }}
        ) as duplicate_group_size
    from candidates
),

grouped as (
    select
        joined.*,
        coalesce(candidate_groups.duplicate_group_id, joined.customer_id)
            as duplicate_group_id,
        coalesce(candidate_groups.duplicate_group_size, 1)
            as duplicate_group_size
    from joined
    left join candidate_groups
        on joined.source_line = candidate_groups.source_line
)

select * from grouped

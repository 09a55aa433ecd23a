-- Every customer record with its monthly revenue and minutes, and two kinds
-- of duplicate flags:
--   * a repeated id (`n_records_with_id` > 1): which copy is true cannot be
--     told, so every copy is quarantined (kept out of the mart, audited);
--   * records identical on every attribute, revenue and minutes but the id
--     (possible double registrations): kept, and grouped by
--     `duplicate_group_id` = the smallest id of the group, so the ML step can
--     keep a group on one side of every split. Profit is not compared: the
--     known double registrations differ in it.
-- Speed: a window over all records partitioned by the 17 attributes buffers
-- every wide row. Instead a duplicate key (one hash of the 17 attributes) is
-- computed once per record in a narrow table (line, id, key); only records
-- whose key is shared can have a twin, and the exact 17-column grouping
-- runs on those few. A hash collision only adds a candidate, never a false
-- group. Repeated ids are counted from the same narrow table. (Hashing each
-- part in its own table and intersecting the shared ones avoids the joins
-- but not the candidates: in a large export many records share their
-- minutes, or their market_file attributes, with someone.)
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
{%- set key_columns = [] %}
{%- for prefix, names in [
    ('key_customers', customer_attributes),
    ('key_revenues', revenue_attributes),
    ('key_minutes', minutes_attributes),
] %}
    {%- for name in names %}
        {%- do key_columns.append(prefix ~ '.' ~ name) %}
    {%- endfor %}
{%- endfor %}

{#- Each input under three names, read once each: DuckDB keeps a CTE that is
    read twice in memory, all its wide rows, so the narrow `keys`, the
    candidate records and the final join each scan the tables themselves.
    `keys` is read three times and kept, but it is narrow. An id that did
    not parse is null in staging; assert_export_numbers_are_valid names it,
    and it stays out of every later model. #}
{%- set inputs = [
    ('customers', 'stg_shop_export__customers', 'customer_id is not null'),
    ('revenues', 'int_revenues_flagged_for_implausible_values', none),
    ('minutes', 'int_minutes_pivoted_to_periods', none),
] %}

{#- How the three are joined: every customer record, with its customer's
    revenue and minutes; `inputs_joined[prefix]` under each set of names. #}
{%- set inputs_joined = {} %}
{%- for prefix in ['', 'key_', 'candidate_'] %}
    {%- set joined -%}
        from {{ prefix }}customers
    left join {{ prefix }}revenues
        on {{ prefix }}customers.customer_id = {{ prefix }}revenues.customer_id
    left join {{ prefix }}minutes
        on {{ prefix }}customers.customer_id = {{ prefix }}minutes.customer_id
    {%- endset %}
    {%- do inputs_joined.update({prefix: joined}) %}
{%- endfor %}

with
{% for prefix in inputs_joined %}
    {%- for name, model, condition in inputs %}

        {{ prefix }}{{ name }} as (
            select * from {{ ref(model) }}
            {%- if condition %}
                where {{ condition }}
            {%- endif %}
        ),
    {%- endfor %}
{%- endfor %}

keys as (
    select
        key_customers.source_line,
        key_customers.customer_id,
        {{ row_hash(key_columns) }} as duplicate_key
    {{ inputs_joined['key_'] }}
),

-- ids on more than one record (few): joining these is cheaper than a count
-- per id for every record
repeated_ids as (
    select
        customer_id,
        count(*) as n_records_with_id
    from keys
    group by customer_id
    having count(*) > 1
),

shared_keys as (
    select duplicate_key
    from keys
    group by duplicate_key
    having count(*) > 1
),

candidate_lines as (
    select keys.source_line
    from keys
    inner join shared_keys on keys.duplicate_key = shared_keys.duplicate_key
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
    {{ inputs_joined['candidate_'] }}
    inner join candidate_lines
        on candidate_customers.source_line = candidate_lines.source_line
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

-- The record's attributes and line, not all of staging: the raw labels,
-- `invalid_values` and `loaded_at` stay in stg_shop_export__customers (same
-- `source_line`). Every column written here is written again for every
-- customer, and text columns cost the most to write.
grouped as (
    select
        customers.customer_id,
        {%- for attribute in customer_attributes %}
            customers.{{ attribute }},
        {%- endfor %}
        customers.source_line,
        {%- for period in revenue_periods() %}
            revenues.revenue_{{ period }},
            revenues.revenue_{{ period }}_raw,
        {%- endfor %}
        revenues.n_zero_revenue_months,
        revenues.n_implausible_months,
        {%- for period in minutes_periods() %}
            minutes.minutes_{{ period }},
        {%- endfor %}
        coalesce(repeated_ids.n_records_with_id, 1) as n_records_with_id,
        coalesce(candidate_groups.duplicate_group_id, customers.customer_id)
            as duplicate_group_id,
        coalesce(candidate_groups.duplicate_group_size, 1)
            as duplicate_group_size
    {{ inputs_joined[''] }}
    left join repeated_ids
        on customers.customer_id is not distinct from repeated_ids.customer_id
    left join candidate_groups
        on customers.source_line = candidate_groups.source_line
)

select * from grouped

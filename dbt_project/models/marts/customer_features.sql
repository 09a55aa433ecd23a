-- The feature mart: one row per regular customer (see _marts__models.yml for
-- the contract the ML step relies on).

with

customers as (
    select * from {{ ref('int_customers_filtered_to_active') }}
),

profits as (
    -- an id that did not parse is null here; assert_export_numbers_are_valid
    -- names it, and it stays out of every later model
    select * from {{ ref('stg_shop_export__profits') }}
    where customer_id is not null
),

final as (
    select
        customers.customer_id,
        customers.activity_declined,
        customers.service_type,
        customers.allow_messages,
        customers.marketing_activity_6m,
        customers.marketing_activity_current_month,
        customers.tenure_days,
        customers.promo_purchase_share,
        customers.favourite_category,
        customers.avg_categories_per_visit,
        customers.unpaid_items_quarter,
        customers.service_errors,
        customers.pages_per_visit,
        customers.revenue_pre_previous_month,
        customers.revenue_previous_month,
        customers.revenue_current_month,
        customers.minutes_previous_month,
        customers.minutes_current_month,
        profits.profit,
        customers.n_implausible_months > 0 as has_revenue_outlier,
        customers.duplicate_group_id,
        customers.duplicate_group_size > 1 as is_possible_duplicate
    from customers
    inner join profits on customers.customer_id = profits.customer_id
)

select * from final

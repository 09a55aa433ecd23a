-- What the last build excluded, replaced or flagged, per reason.
-- Compile with `dbt compile -s audit_summary_by_reason` and run the SQL in
-- target/compiled/..., or run it as is against marts.customer_audit.

select
    reason,
    action,
    count(*) as n_rows,
    count(distinct customer_id) as n_customers
from {{ ref('customer_audit') }}
group by reason, action
order by n_customers desc, reason asc

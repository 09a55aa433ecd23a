-- Minutes on the site per customer in one column per month, and how many
-- months the customer has a row for.

{{ pivot_to_periods(
    'stg_shop_export__monthly_minutes',
    minutes_periods(),
    [('minutes', 'minutes_{period}')],
    'count(*) as n_months_reported',
) }}

-- Revenue per customer as exported, one column per month, with the line of
-- each value in market_money.csv for the audit, and how many months the
-- customer bought nothing.

{{ pivot_to_periods(
    'stg_shop_export__monthly_revenues',
    revenue_periods(),
    [
        ('revenue', 'revenue_{period}_raw'),
        ('source_line', 'source_line_{period}'),
    ],
    'count(case when revenue = 0 then 1 end) as n_zero_revenue_months',
) }}

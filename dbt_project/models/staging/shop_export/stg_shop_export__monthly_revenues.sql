-- market_money.csv landed (macros/stage_export_file.sql): canonical period
-- codes (joined from the label_map seed), revenue parsed strictly (see
-- macros/parse_numbers.sql), and the file and line of every row.
{{ stage_monthly_export_file('market_money', 'Выручка', 'revenue', 'double') }}

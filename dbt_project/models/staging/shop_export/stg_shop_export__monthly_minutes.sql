-- market_time.csv landed (macros/stage_export_file.sql): canonical period
-- codes (the file's typo «предыдцщий_месяц» too, through the label_map
-- seed), minutes parsed strictly as whole numbers, file and line of a row.
{{ stage_monthly_export_file('market_time', 'минут', 'minutes', 'integer') }}

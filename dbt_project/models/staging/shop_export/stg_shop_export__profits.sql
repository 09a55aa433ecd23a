-- money.csv landed (macros/stage_export_file.sql): profit parsed strictly
-- (see macros/parse_numbers.sql), and the file and line of every row.
{{ stage_export_file(
    'money',
    columns={'Прибыль': 'profit_as_read'},
    numbers={'customer_id': 'bigint', 'profit': 'double'},
    outputs=['customer_id', 'profit'],
) }}

{#- The shop's four export files, each with the staging model that reads it:
    one list for the tests that check every file. The customer file comes
    first: it is the one every other file's ids are checked against. -#}
{% macro export_files() -%}
    {{ return([
        ('stg_shop_export__customers', 'market_file.csv'),
        ('stg_shop_export__profits', 'money.csv'),
        ('stg_shop_export__monthly_revenues', 'market_money.csv'),
        ('stg_shop_export__monthly_minutes', 'market_time.csv'),
    ]) }}
{%- endmacro %}

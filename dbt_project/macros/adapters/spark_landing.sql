{#-
    Reading the raw CSVs on Spark (on-run-start, before any model: the
    hook prepare_raw_exports() in macros/check_raw_exports.sql calls it).
    DuckDB reads them in the source itself (`external_location` in
    _shop_export__sources.yml); dbt-spark has no such thing, so here each file
    becomes a view `shop_export.<file>` with the same columns, names and types
    the DuckDB source gives staging, plus `ordinality`:
      * an external CSV table `shop_export.<file>__csv` over the file, every
        column read as text, with the file's separator, `"` quoting, UTF-8,
        and FAILFAST (a row with the wrong number of columns stops the
        build); `enforceSchema = false` makes Spark check the header against
        the declared column names (Cyrillic, in order), the counterpart of
        check_raw_exports(), which reads files with DuckDB functions;
      * the view casts each number itself. dbt-spark runs with ANSI mode off,
        where a failed cast is silently null, so a value that does not parse
        (or has a decimal point where the file's mark is a comma) raises an
        error naming the file, the line, the column and the value;
      * `ordinality`: Spark reads a file in parallel splits and numbers no
        rows, so the line is recovered as the row's position when rows are
        ordered by the split's byte offset in the file
        (`_metadata.file_block_start`) and, inside a split, by
        monotonically_increasing_id() (increasing in reading order within a
        partition). This equals DuckDB's numbering (export_rows in
        macros/stage_export_file.sql) for files without
        blank lines or line breaks inside quoted values (the export has
        neither); it sorts the file's rows once, in one partition.
    CRLF line ends and a byte-order mark need no option: Spark's reader
    accepts both.
-#}
{% macro land_raw_exports() %}
    {%- set statements = [] -%}
    {%- for node in graph.sources.values()
            if node.source_name == 'shop_export' -%}
        {%- if loop.first -%}
            {%- do statements.append(
                'create schema if not exists ' ~ node.schema) -%}
        {%- endif -%}
        {%- do statements.extend(spark_landing_statements(node)) -%}
    {%- endfor -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{#- The statements that land one source file (see above). -#}
{% macro spark_landing_statements(node) %}
    {%- set file_name = node.identifier ~ '.csv' -%}
    {%- set path = node.config.raw_dir ~ '/' ~ file_name -%}
    {%- set csv_table = node.schema ~ '.' ~ node.identifier ~ '__csv' -%}
    {%- set decimal = node.config.decimal_separator -%}
    {%- set text_columns = [] -%}
    {%- set typed = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- set quoted = adapter.quote(name) -%}
        {%- do text_columns.append(quoted ~ ' string') -%}
        {%- if column.data_type | lower == 'double' -%}
            {%- set text = quoted if decimal == '.'
                else "replace(" ~ quoted ~ ", '" ~ decimal ~ "', '.')" -%}
            {%- set bad = quoted ~ ' is not null and (cast(' ~ text
                ~ ' as double) is null'
                ~ ((' or ' ~ quoted ~ " like '%.%'") if decimal != '.' else '')
                ~ ')' -%}
            {%- set message = "'" ~ file_name ~ " line ' || cast(ordinality + 1"
                ~ " as string) || ': could not convert column \"" ~ name
                ~ "\" value \"' || " ~ quoted ~ " || '\" to a number"
                ~ ((" (decimal mark \"" ~ decimal ~ "\")") if decimal != '.')
                ~ "'" -%}
            {%- do typed.append('case when ' ~ bad ~ ' then cast(raise_error('
                ~ message ~ ') as double) else cast(' ~ text
                ~ ' as double) end as ' ~ quoted) -%}
        {%- else -%}
            {%- do typed.append(quoted) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set statements = [
        'drop view if exists ' ~ node.schema ~ '.' ~ node.identifier,
        'drop table if exists ' ~ csv_table,
        'create table ' ~ csv_table ~ ' (' ~ text_columns | join(', ') ~ ')'
        ~ " using csv options (path '" ~ path ~ "', header 'true',"
        ~ " sep '" ~ node.config.delimiter ~ "', quote '\"', escape '\"',"
        ~ " encoding 'UTF-8', mode 'FAILFAST', enforceSchema 'false')",
    ] -%}
    {%- set view -%}
        create view {{ node.schema }}.{{ node.identifier }} as
        with numbered as (
            select
                *,
                row_number() over (
                    order by
                        _metadata.file_block_start,
                        monotonically_increasing_id()
                ) as ordinality
            from {{ csv_table }}
        )
        select
            {{ typed | join(',\n            ') }},
            ordinality
        from numbered
    {%- endset -%}
    {%- do statements.append(view) -%}
    {{ return(statements) }}
{% endmacro %}

{#-
    Checks every file of the `shop_export` source before any model is built:
    the file exists, is not empty, and its header names exactly the columns
    declared in _shop_export__sources.yml, in order, with the declared
    separator. Collects every problem, then stops the run with one message
    per file, so a user fixes the whole export in one go.
-#}

{#- The on-run-start hook that readies the export for staging, on each
    engine its own way: DuckDB reads the files in the source itself, so it
    only checks them first (check_raw_exports below); Spark lands each file
    as a view and checks its header as it reads it (land_raw_exports,
    macros/adapters/spark_landing.sql). Only `dbt run` / `dbt build` build
    models, so other commands skip both. -#}
{% macro prepare_raw_exports() %}
    {%- if not execute or flags.WHICH not in ['run', 'build'] -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(adapter.dispatch('prepare_raw_exports', 'one_click')()) }}
{% endmacro %}

{% macro default__prepare_raw_exports() %}
    {{ return(check_raw_exports()) }}
{% endmacro %}

{% macro spark__prepare_raw_exports() %}
    {{ return(land_raw_exports()) }}
{% endmacro %}


{#- The checks, with DuckDB's file functions; when the selection reads the
    export (not for `--selector after_ml`). -#}
{% macro check_raw_exports() %}
    {%- set reads_export = [] -%}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- for parent in (node.depends_on.nodes if node else []) -%}
            {%- if parent.startswith('source.one_click.shop_export.') -%}
                {%- do reads_export.append(unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not reads_export -%}
        {{ return('') }}
    {%- endif -%}
    {%- set problems = [] -%}
    {%- for node in graph.sources.values()
            if node.source_name == 'shop_export' -%}
        {%- set problem = raw_export_problem(node) -%}
        {%- if problem -%}
            {%- do problems.append(problem) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {#- One line per file at fault; ml/ops/dbt_runner.py lists them as is.
            Recorded first: the build file must not look like a passed build. -#}
        {%- do record_build_refused(problems) -%}
        {{ exceptions.raise_compiler_error(problems | join('\n')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#- One line describing what is wrong with a source file, or '' when it is fine. -#}
{% macro raw_export_problem(node) %}
    {%- set raw_dir = node.config.raw_dir -%}
    {%- set file_name = export_file_name(node.identifier) -%}
    {%- set path = raw_dir ~ '/' ~ file_name -%}
    {%- set delimiter = node.config.delimiter -%}
    {%- set expected = node.columns.keys() | list -%}
    {%- set where = file_name ~ ' (' ~ path ~ ')' -%}

    {%- set found = run_query(
        "select count(*) from glob('" ~ path ~ "')"
    ).columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {{ return(where ~ ': file not found; set ONE_CLICK_RAW_DIR or the '
                  ~ 'dbt var raw_dir to the directory holding the export') }}
    {%- endif -%}

    {#- First line only, as plain text: no quoting, no type sniffing. Lines
        that are not valid UTF-8 are skipped rather than raising, so a file
        in another encoding gets a message that names it. -#}
    {%- set first_lines = run_query(
        "select line from read_csv('" ~ path ~ "', "
        ~ "columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), "
        ~ "quote = '', escape = '', auto_detect = false, "
        ~ "strict_mode = false, ignore_errors = true) limit 1"
    ).columns[0].values() -%}
    {%- if first_lines | length == 0 -%}
        {%- set size = run_query(
            "select size from read_blob('" ~ path ~ "')"
        ).columns[0].values()[0] -%}
        {%- if size > 0 -%}
            {{ return(where ~ ': not UTF-8 text (cp1251 or another encoding?);'
                      ~ ' export the file as UTF-8') }}
        {%- endif -%}
        {{ return(where ~ ': file is empty; expected a header line "'
                  ~ expected | join(delimiter) ~ '" and data rows') }}
    {%- endif -%}

    {%- set header_line = (first_lines[0] or '')
            | replace('\ufeff', '') | replace('\r', '') -%}
    {%- set header = [] -%}
    {%- for name in header_line.split(delimiter) -%}
        {%- do header.append(name | trim | trim('"')) -%}
    {%- endfor -%}
    {%- if header == expected -%}
        {{ return('') }}
    {%- endif -%}

    {%- set missing = [] -%}
    {%- for name in expected if name not in header -%}
        {%- do missing.append(name) -%}
    {%- endfor -%}
    {%- set unexpected = [] -%}
    {%- for name in header if name not in expected -%}
        {%- do unexpected.append(name) -%}
    {%- endfor -%}

    {%- set details = [] -%}
    {%- if header | length == 1 and expected | length > 1 -%}
        {%- do details.append('wrong separator? expected "' ~ delimiter
                              ~ '" between columns') -%}
    {%- endif -%}
    {%- if missing -%}
        {%- do details.append('missing column(s): ' ~ missing | join(', ')) -%}
    {%- endif -%}
    {%- if unexpected -%}
        {%- do details.append('unexpected column(s): '
                              ~ unexpected | join(', ')) -%}
    {%- endif -%}
    {%- if not missing and not unexpected -%}
        {%- do details.append('columns in the wrong order') -%}
    {%- endif -%}
    {{ return(where ~ ': ' ~ details | join('; ') ~ '; header is "'
              ~ header_line ~ '", expected "'
              ~ expected | join(delimiter) ~ '"') }}
{% endmacro %}


{#- The export file a `shop_export` source table is read from (its
    `file_name`, `$identifier.csv`): what staging records as `source_file`
    and what the checks above name. -#}
{% macro export_file_name(table_name) -%}
    {{ return(table_name ~ '.csv') }}
{%- endmacro %}

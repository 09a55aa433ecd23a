{#-
    The build file records the outcome of every dbt invocation that writes
    it, in schema `build_outcome`, so plain `dbt build` needs no wrapper:
      invocations  one row per invocation: command, raw directory, whether it
                   was a complete build of the export, status (`running`
                   until on-run-end says `passed` or `failed`)
      files        the export files a complete build read: path, size,
                   modification time, SHA-256
      nodes        every node's status, failing rows and message
      messages     the console lines (macros/console_report.sql)
    `python -m ml.train` and `ml.score` publish only a build whose latest
    complete `dbt build` passed on the export they are pointed at
    (ml/ops/build_outcome.py reads these tables). A killed run stays `running`,
    a run stopped by the export check is `failed`: neither is published.
-#}

{#- Commands that write the build file (not compile, docs, show, ...). -#}
{% macro build_outcome_writes() %}
    {{ return(execute and flags.WHICH in ['build', 'run', 'test', 'seed',
                                          'snapshot']) }}
{% endmacro %}


{#- The record lives in the DuckDB build file, the one `ml.train` publishes
    from. Other adapters (Spark) have no build file and no publish step: they
    print the console report (on-run-end) and record nothing. -#}
{% macro build_outcome_applies() %}
    {{ return(build_outcome_writes()
              and adapter.dispatch('build_outcome_recorded', 'one_click')()) }}
{% endmacro %}

{% macro default__build_outcome_recorded() %}
    {{ return(true) }}
{% endmacro %}

{% macro spark__build_outcome_recorded() %}
    {{ return(false) }}
{% endmacro %}


{% macro build_outcome_table(name) %}
    {{ return(adapter.quote(target.database) ~ '.build_outcome.' ~ name) }}
{% endmacro %}


{#- complete: the whole default selection of `dbt build`, with data (the
    ML step's `--selector after_ml` is its own kind). -#}
{% macro build_outcome_kind() %}
    {%- set args = invocation_args_dict -%}
    {%- set selector = args.get('selector') -%}
    {%- if selector == 'after_ml' -%}
        {{ return('after_ml') }}
    {%- endif -%}
    {%- set narrowed = args.get('select') or args.get('exclude')
            or args.get('resource_types') or args.get('exclude_resource_types')
            or args.get('empty') or args.get('inline')
            or (selector and selector != 'before_ml') -%}
    {%- if flags.WHICH == 'build' and not narrowed -%}
        {{ return('complete_build') }}
    {%- endif -%}
    {{ return('partial') }}
{% endmacro %}


{#- Tables and columns of the record (ml/ops/build_outcome.py reads them). -#}
{% macro build_outcome_layout() %}
    {{ return({
        'invocations': [
            'invocation_id varchar primary key', 'command varchar',
            'dbt_command varchar', 'kind varchar', 'raw_dir varchar',
            'started_at timestamp', 'finished_at timestamp', 'status varchar',
            'n_nodes integer', 'n_failed integer', 'n_skipped integer',
            'n_warned integer', 'failed_nodes varchar[]'],
        'files': [
            'invocation_id varchar', 'file_name varchar', 'path varchar',
            'signature_at_start varchar', 'signature_at_end varchar',
            'sha256 varchar'],
        'nodes': [
            'invocation_id varchar', 'unique_id varchar',
            'resource_type varchar', 'name varchar', 'status varchar',
            'failures bigint', 'message varchar', 'execution_time double'],
        'messages': [
            'invocation_id varchar', 'line_number integer', 'severity varchar',
            'node_name varchar', 'message varchar'],
    }) }}
{% endmacro %}


{#- The raw directory and file names of the `shop_export` source. -#}
{% macro build_outcome_export_files() %}
    {%- set files = [] -%}
    {%- for node in graph.sources.values()
            if node.source_name == 'shop_export' -%}
        {%- do files.append({
            'name': node.identifier ~ '.csv',
            'path': node.config.raw_dir ~ '/' ~ node.identifier ~ '.csv',
        }) -%}
    {%- endfor -%}
    {{ return(files | sort(attribute='name')) }}
{% endmacro %}


{#- on-run-start, before the export check: the invocation is `running`
    until on-run-end records how it ended. Each file's size and modification
    time are noted now, so a file replaced while dbt read it is caught. -#}
{% macro record_build_start() %}
    {%- if not build_outcome_applies() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set kind = build_outcome_kind() -%}
    {%- set files = build_outcome_export_files() -%}
    {%- set raw_dir = files[0].path[:-(files[0].name | length) - 1] -%}
    {#- A build file whose record has another layout (an earlier version of
        this project) starts a new record rather than failing the build. -#}
    {%- set layout = run_query(
        "select count(*) from information_schema.columns"
        ~ " where table_catalog = '" ~ target.database ~ "'"
        ~ " and table_schema = 'build_outcome'").columns[0].values()[0] -%}
    {%- set expected = [] -%}
    {%- for columns in build_outcome_layout().values() -%}
        {%- do expected.extend(columns) -%}
    {%- endfor -%}
    {%- call statement('build_outcome_start') -%}
        {%- if layout not in [0, expected | length] %}
        drop schema {{ adapter.quote(target.database) }}.build_outcome cascade;
        {%- endif %}
        create schema if not exists
        {{ adapter.quote(target.database) }}.build_outcome;
        {%- for table, columns in build_outcome_layout().items() %}
        create table if not exists {{ build_outcome_table(table) }} (
            {{ columns | join(',\n            ') }}
        );
        {%- endfor %}
        insert or replace into {{ build_outcome_table('invocations') }}
        values (
            '{{ invocation_id }}',
            {{ build_outcome_text(invocation_args_dict.get('invocation_command')
                                  or flags.WHICH) }},
            '{{ flags.WHICH }}',
            '{{ kind }}',
            one_click_real_path({{ build_outcome_text(raw_dir) }}),
            cast('{{ run_started_at }}' as timestamp),
            null, 'running', null, null, null, null, null
        );
        {%- if kind == 'complete_build' %}
        insert into {{ build_outcome_table('files') }}
        select
            '{{ invocation_id }}',
            file_name,
            one_click_real_path(path),
            one_click_file_signature(path),
            null,
            null
        from (values
            {%- for file in files %}
            ({{ build_outcome_text(file.name) }},
             {{ build_outcome_text(file.path) }}){{ ',' if not loop.last }}
            {%- endfor %}
        ) as export_files (file_name, path);
        {%- endif %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}


{#- A SQL string literal of *text*. -#}
{% macro build_outcome_text(text) %}
    {{ return("'" ~ (text | string | replace("'", "''")) ~ "'") }}
{% endmacro %}


{#- on-run-start, when the export check stops the run: record why. -#}
{% macro record_build_refused(problems) %}
    {%- if not build_outcome_applies() -%}
        {{ return('') }}
    {%- endif -%}
    {%- call statement('build_outcome_refused') -%}
        update {{ build_outcome_table('invocations') }}
        set status = 'failed', finished_at = now()::timestamp,
            failed_nodes = ['export check']
        where invocation_id = '{{ invocation_id }}';
        {%- for problem in problems %}
        insert into {{ build_outcome_table('messages') }} values (
            '{{ invocation_id }}', {{ loop.index }}, 'ERROR',
            'check_raw_exports', {{ build_outcome_text(problem) }});
        {%- endfor %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}


{#- on-run-end: print the console report, then record every node's status,
    the messages and (complete builds) the files' checksums. A passing build
    costs a few statements and the checksums: stored failures are read only
    for tests that failed or warned. -#}
{% macro record_build_outcome(results) %}
    {%- if not build_outcome_applies() -%}
        {%- if build_outcome_writes() -%}
            {%- do console_report(results) -%}
        {%- endif -%}
        {{ return('') }}
    {%- endif -%}
    {%- set lines = console_report(results) -%}
    {%- set failed = [] -%}
    {%- set skipped = [] -%}
    {%- set warned = [] -%}
    {%- for result in results -%}
        {%- if result.status in ['error', 'fail', 'runtime error'] -%}
            {%- do failed.append(result.node.name) -%}
        {%- elif result.status == 'skipped' -%}
            {%- do skipped.append(result.node.name) -%}
        {%- elif result.status == 'warn' -%}
            {%- do warned.append(result.node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- An interrupted run can end without results for every selected node. -#}
    {%- set ran = results | map(attribute='node.unique_id') | list -%}
    {%- set not_run = [] -%}
    {%- for unique_id in selected_resources if unique_id not in ran -%}
        {%- do not_run.append(unique_id) -%}
    {%- endfor -%}
    {%- if not_run -%}
        {%- do failed.append('not run: ' ~ not_run | length ~ ' node(s)') -%}
    {%- endif -%}
    {%- call statement('build_outcome_files') -%}
        update {{ build_outcome_table('files') }}
        set
            sha256 = one_click_file_sha256(path),
            signature_at_end = one_click_file_signature(path)
        where invocation_id = '{{ invocation_id }}'
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {%- set changed = run_query(
        "select file_name from " ~ build_outcome_table('files')
        ~ " where invocation_id = '" ~ invocation_id ~ "'"
        ~ " and signature_at_start is distinct from signature_at_end"
        ~ " order by file_name").columns[0].values() -%}
    {%- for file_name in changed -%}
        {%- set text = file_name ~ ' changed while dbt was reading it;'
                ~ ' run dbt build again once the export is complete' -%}
        {%- do log('ERROR ' ~ text, info=True) -%}
        {%- do lines.append({'severity': 'ERROR', 'node': 'export files',
                             'text': text}) -%}
        {%- do failed.append('export files') -%}
    {%- endfor -%}
    {%- call statement('build_outcome_end') -%}
        {%- for batch in results | batch(200) %}
        insert into {{ build_outcome_table('nodes') }} values
        {%- for result in batch %}
            ('{{ invocation_id }}', '{{ result.node.unique_id }}',
             '{{ result.node.resource_type }}', '{{ result.node.name }}',
             '{{ result.status }}',
             {{ result.failures if result.failures is number else 'null' }},
             {{ build_outcome_text(result.message)
                if result.message is not none else 'null' }},
             {{ result.execution_time or 0 }}){{ ',' if not loop.last }}
        {%- endfor %};
        {%- endfor %}
        {%- for line in lines %}
        insert into {{ build_outcome_table('messages') }} values (
            '{{ invocation_id }}', {{ loop.index }},
            '{{ line.severity }}', {{ build_outcome_text(line.node) }},
            {{ build_outcome_text(line.text) }});
        {%- endfor %}
        update {{ build_outcome_table('invocations') }}
        set
            finished_at = now()::timestamp,
            status = '{{ 'failed' if failed or skipped else 'passed' }}',
            n_nodes = {{ results | length }},
            n_failed = {{ failed | length }},
            n_skipped = {{ skipped | length }},
            n_warned = {{ warned | length }},
            failed_nodes = [
                {%- for name in failed -%}
                {{ build_outcome_text(name) }}{{ ', ' if not loop.last }}
                {%- endfor -%}
            ]::varchar[]
        where invocation_id = '{{ invocation_id }}';
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}

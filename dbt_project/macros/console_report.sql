{#-
    The console report of a dbt invocation (called by record_build_outcome
    in on-run-end, so plain `dbt build` and `python -m ml.pipeline` print the
    same lines): for every failed or warned test, one line per failing row
    (the first few, then how many more and where they are stored), and for
    every node that errored, its cause in one line.

    A stored failing row is read generically:
      source_file + source_line (a number) or source_lines (a phrase such as
      "lines 6 and 1302")  -> "market_time.csv line 17: "
      problem / problems (a sentence the test wrote)  -> the rest of the line
    A row without a `problem` is described from the test's metadata: the
    tested column, its value and the rule (`config.meta.rule`, else a phrase
    for the test's name and arguments).
-#}
{% macro console_report(results, rows_per_test=5) %}
    {%- set lines = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- if node.resource_type == 'test'
                and result.status in ['fail', 'warn'] -%}
            {%- set severity = 'ERROR' if result.status == 'fail' else 'WARN' -%}
            {%- set shown = [] -%}
            {%- if node.relation_name -%}
                {%- set table = run_query('select * from ' ~ node.relation_name
                                          ~ ' limit ' ~ rows_per_test) -%}
                {%- for row in table.rows -%}
                    {%- do shown.append(failure_row_text(
                        node, table.column_names, row)) -%}
                {%- endfor -%}
            {%- endif -%}
            {%- if not shown -%}
                {%- do shown.append('test ' ~ node.name ~ ' failed on '
                                    ~ result.failures ~ ' row(s)') -%}
            {%- endif -%}
            {%- for text in shown -%}
                {%- do lines.append({'severity': severity, 'node': node.name,
                                     'text': text}) -%}
            {%- endfor -%}
            {%- set more = (result.failures or 0) - (shown | length) -%}
            {%- if more > 0 -%}
                {%- do lines.append({
                    'severity': severity, 'node': node.name,
                    'text': '... and ' ~ more ~ ' more: select * from '
                            ~ node.schema ~ '.' ~ node.alias}) -%}
            {%- endif -%}
        {%- elif result.status in ['error', 'runtime error'] -%}
            {%- do lines.append({'severity': 'ERROR', 'node': node.name,
                                 'text': node_error_text(result)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if lines -%}
        {%- do log('Problems found (at most ' ~ rows_per_test
                   ~ ' rows per test):', info=True) -%}
        {%- for line in lines -%}
            {%- do log('  ' ~ (line.severity ~ ' ')[:6] ~ line.text,
                       info=True) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(lines) }}
{% endmacro %}


{#- One failing row as "<file> line <n>: <what is wrong>". -#}
{% macro failure_row_text(node, column_names, row) %}
    {%- set values = {} -%}
    {%- for name in column_names -%}
        {%- do values.update({name: row[loop.index0]}) -%}
    {%- endfor -%}
    {%- set where = [] -%}
    {%- if values.get('source_file') is not none
            and values.get('source_file') != '' -%}
        {%- do where.append(values['source_file']) -%}
        {%- if values.get('source_lines') -%}
            {%- do where.append(values['source_lines']) -%}
        {%- elif values.get('source_line') is not none -%}
            {%- do where.append('line ' ~ values['source_line']) -%}
        {%- endif -%}
    {%- endif -%}
    {%- set body = values.get('problem') or values.get('problems') -%}
    {%- if not body -%}
        {%- set body = failure_from_metadata(node, values) -%}
    {%- endif -%}
    {{ return((where | join(' ') ~ ': ' if where else '') ~ body) }}
{% endmacro %}


{#- "<column> = <value> (<rule>)" for a row a test stored without a
    `problem` column. -#}
{% macro failure_from_metadata(node, values) %}
    {%- set metadata = node.test_metadata -%}
    {%- set name = metadata.name if metadata else node.name -%}
    {%- set kwargs = metadata.kwargs if metadata else {} -%}
    {%- set column = kwargs.get('column_name') -%}
    {%- set rule = (node.config.meta or {}).get('rule') -%}
    {%- if not rule -%}
        {%- if name == 'not_null' -%}
            {%- set rule = 'must not be empty' -%}
        {%- elif name in ['unique', 'primary_key'] -%}
            {%- set rule = 'must be unique' -%}
        {%- elif name == 'accepted_values' -%}
            {%- set rule = 'must be one of ' ~ kwargs.get('values', [])
                                                | join(', ') -%}
        {%- elif name == 'accepted_range' -%}
            {%- set strict = kwargs.get('inclusive', true) == false -%}
            {%- set rule = 'must be between ' ~ kwargs.get('min_value', '-∞')
                           ~ ' and ' ~ kwargs.get('max_value', '∞')
                           ~ (' (exclusive)' if strict else '') -%}
        {%- else -%}
            {%- set rule = 'fails ' ~ node.name -%}
        {%- endif -%}
    {%- endif -%}
    {%- set shown = [] -%}
    {%- for key, value in values.items()
            if key not in ['source_file', 'source_line', 'source_lines',
                           'loaded_at'] -%}
        {%- if column is none or key in [column, 'unique_field',
                                          'n_records', 'n_rows'] -%}
            {%- do shown.append(key ~ ' = ' ~ value) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((shown[:6] | join(', ')) ~ ' (' ~ rule ~ ')') }}
{% endmacro %}


{#- A node's error in one line: DuckDB's CSV errors name the file, the line
    and the column; a file that mixes line endings is named with its line. -#}
{% macro node_error_text(result) %}
    {%- set message = (result.message or result.status) | string -%}
    {%- set re = modules.re -%}
    {%- set csv = re.search(
        'CSV Error on Line: (\\d+).*?Original Line:\\s*\\n([^\\n]*)\\n'
        ~ '([^\\n]+).*?file = ([^\\n]+)', message, re.DOTALL) -%}
    {%- if csv -%}
        {{ return(csv.group(4).strip().split('/')[-1] ~ ' line '
                  ~ csv.group(1) ~ ': ' ~ csv.group(3).strip()
                  ~ " (line reads: '" ~ csv.group(2).strip() ~ "')") }}
    {%- endif -%}
    {%- set file = re.search('file = ([^\\n]+)', message) -%}
    {%- if file -%}
        {%- set path = file.group(1).strip() -%}
        {%- set fault = run_query(
            'select one_click_line_ending_fault('
            ~ build_outcome_text(path) ~ ')').columns[0].values()[0] -%}
        {%- set cause = fault or (message.strip().splitlines() or [''])[0]
                | replace('Invalid Input Error: ', '') -%}
        {{ return(path.split('/')[-1] ~ (' ' if fault else ': ') ~ cause) }}
    {%- endif -%}
    {%- set first = [] -%}
    {%- for line in message.strip().splitlines()
            if line.strip() and not first -%}
        {%- do first.append(line.strip()) -%}
    {%- endfor -%}
    {{ return(result.node.resource_type ~ ' ' ~ result.node.name ~ ': '
              ~ (first[0] if first else result.status)) }}
{% endmacro %}

{#-
    SQL expressions that tests use to describe their failing rows in words
    (the console prints them: macros/console_report.sql).
-#}

{#- A text value quoted «so», with what a reader cannot see made visible:
    a space at either end or beside another space as ␠, any other blank,
    control or format character as [U+XXXX], and, in a word that mixes
    Cyrillic and Latin letters, each letter of the rarer script as
    [e U+0065], so «премиум␠» and «пр[e U+0065]миум» no longer look like
    «премиум». Null reads as "empty". -#}
{% macro visible_text(column) %}
    {{ return(adapter.dispatch('visible_text', 'one_click')(column)) }}
{% endmacro %}

{#- The branch both engines share, over the position `i` of the lambda:
    a space at either end or beside another space shows as ␠ (a lone
    space between words stays a space). -#}
{% macro visible_space_branch(column) %}
    when substring({{ column }}, i, 1) = ' '
        and (
            i = 1 or i = length({{ column }})
            or substring({{ column }}, i - 1, 1) = ' '
            or substring({{ column }}, i + 1, 1) = ' '
        )
        then '␠'
{%- endmacro %}

{% macro default__visible_text(column) %}
    case
        when {{ column }} is null then 'empty'
        else '«' || array_to_string(list_transform(
            range(1, length({{ column }}) + 1),
            lambda i: case
                {{ visible_space_branch(column) }}
                when regexp_matches(
                        substring({{ column }}, i, 1), '[\s\p{C}\p{Z}]')
                    and substring({{ column }}, i, 1) != ' '
                    then '[U+'
                        || printf('%04X', unicode(substring({{ column }}, i, 1)))
                        || ']'
                when regexp_matches(
                        {{ column }},
                        '\p{Cyrillic}\p{Latin}|\p{Latin}\p{Cyrillic}')
                    and regexp_matches(
                        substring({{ column }}, i, 1),
                        case
                            when length(regexp_replace(
                                    {{ column }}, '[^\p{Latin}]', '', 'g'))
                                <= length(regexp_replace(
                                    {{ column }}, '[^\p{Cyrillic}]', '', 'g'))
                                then '\p{Latin}'
                            else '\p{Cyrillic}'
                        end)
                    then '[' || substring({{ column }}, i, 1) || ' U+'
                        || printf('%04X', unicode(substring({{ column }}, i, 1)))
                        || ']'
                else substring({{ column }}, i, 1)
            end), '') || '»'
    end
{% endmacro %}


{#- Spark: the same rules in Spark SQL (Java regular expressions, a
    `transform` over the positions, `ascii` giving the code point). -#}
{% macro spark__visible_text(column) %}
    case
        when {{ column }} is null then 'empty'
        when {{ column }} = '' then '«»'
        else '«' || array_join(transform(
            sequence(1, length({{ column }})),
            i -> case
                {{ visible_space_branch(column) }}
                when substring({{ column }}, i, 1) rlike '[\\s\\p{C}\\p{Z}]'
                    and substring({{ column }}, i, 1) != ' '
                    then '[U+'
                        || lpad(hex(ascii(substring({{ column }}, i, 1))), 4, '0')
                        || ']'
                when {{ column }} rlike
                        '\\p{IsCyrillic}\\p{IsLatin}|\\p{IsLatin}\\p{IsCyrillic}'
                    and substring({{ column }}, i, 1) rlike case
                        when length(regexp_replace(
                                {{ column }}, '[^\\p{IsLatin}]', ''))
                            <= length(regexp_replace(
                                {{ column }}, '[^\\p{IsCyrillic}]', ''))
                            then '\\p{IsLatin}'
                        else '\\p{IsCyrillic}'
                    end
                    then '[' || substring({{ column }}, i, 1) || ' U+'
                        || lpad(hex(ascii(substring({{ column }}, i, 1))), 4, '0')
                        || ']'
                else substring({{ column }}, i, 1)
            end), '') || '»'
    end
{% endmacro %}


{#- "line 7", "lines 6 and 1302", "lines 3, 5, 8, 9, 12 and 40 more" from a
    sorted list of (the first few) line numbers and how many there are. -#}
{% macro lines_phrase(lines, n_rows, shown=5) %}
    case
        when {{ n_rows }} = 1 then 'line ' || {{ list_element(lines, 1) }}
        when {{ n_rows }} <= {{ shown }}
            then 'lines '
            || {{ list_join(list_head(lines, n_rows ~ ' - 1'), "', '") }}
            || ' and ' || {{ list_element(lines, n_rows) }}
        else 'lines ' || {{ list_join(list_head(lines, shown), "', '") }}
            || ' and ' || ({{ n_rows }} - {{ shown }}) || ' more'
    end
{% endmacro %}


{#- Whether *model* has the source_file and source_line columns staging
    models carry (tests then name the file and lines of each failing row). -#}
{#- The tested relation's column names, lower case (none at parse time). -#}
{% macro column_names(model) %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{% endmacro %}


{% macro has_source_lines(model, names=none) %}
    {%- set names = names if names is not none else column_names(model) -%}
    {{ return('source_file' in names and 'source_line' in names) }}
{% endmacro %}


{#- "twice; both" / "3 times; all 3" for a count of copies. -#}
{% macro times_phrase(n_rows) %}
    case
        when {{ n_rows }} = 2 then 'twice'
        else {{ n_rows }} || ' times'
    end
{% endmacro %}

{#- Several column rules in one scan of the model (one dbt node instead of one
    per column and rule: each node costs a connection, a compile and a log
    round trip). Fails with every row that breaks any rule, `problems` first,
    naming each column, its value and the rule ("minutes = -5 (must be ≥ 0)"):
      not_null: [columns]                      - no nulls
      between: {column: {min_value, max_value}} - inside the bounds (either
                                                  may be omitted; nulls are
                                                  for not_null to judge)
      accepted_values: {column: [values]}      - one of the values (nulls
                                                  pass, as in dbt's test) -#}
{% test column_values(model, not_null=[], between={}, accepted_values={}) %}

{%- set checks = [] %}
{%- for column in not_null %}
    {%- do checks.append((
        column ~ ' is null',
        "'" ~ column ~ " is empty (must not be empty)'")) %}
{%- endfor %}
{%- for column, bounds in between.items() %}
    {%- for bound, op, words in [('min_value', '<', '≥'),
                                 ('max_value', '>', '≤')] %}
        {%- if bounds.get(bound) is not none %}
            {%- do checks.append((
                column ~ ' ' ~ op ~ ' ' ~ bounds[bound],
                "'" ~ column ~ " = ' || cast(" ~ column ~ " as string) || ' (must be "
                ~ words ~ " " ~ bounds[bound] ~ ")'")) %}
        {%- endif %}
    {%- endfor %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
    {%- set listed = "'" ~ values | join("', '") ~ "'" %}
    {%- do checks.append((
        column ~ ' not in (' ~ listed ~ ')',
        "'" ~ column ~ " = ' || " ~ visible_text(column) ~ " || ' (must be one of "
        ~ ("«" ~ values | join("», «") ~ "»") | replace("'", "''") ~ ")'")) %}
{%- endfor %}

select
    concat_ws(
        '; '
        {%- for condition, message in checks %},
        case when {{ condition }} then {{ message }} end
        {%- endfor %}
    ) as problems,
    *
from {{ model }}
where
    false
    {%- for condition, message in checks %}
    or {{ condition }}
    {%- endfor %}

{% endtest %}

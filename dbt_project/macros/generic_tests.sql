{#- Generic test: the combination of columns is unique (dbt_utils-style, without the package). -#}
{% test unique_combination(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Generic test: the model has no rows (audit models that list problems). -#}
{% test is_empty(model) %}
select * from {{ model }}
{% endtest %}

{#- Generic test: no two rows share the column's value once trimmed and lower-cased. The rows it
    returns are the duplicated values; when it runs it also fails with an error that names them
    and every spelling found (with `located_by`, where each came from), so the cause is on the
    console and not one model later as a duplicate join key. -#}
{% test unique_case_insensitive(model, column_name, located_by=none) %}
{%- set key = "lower(trim(" ~ column_name ~ "))" -%}
{%- set duplicates_sql -%}
select {{ key }} as duplicated_value, count(*) as n_rows
from {{ model }}
where {{ column_name }} is not null
group by {{ key }}
having count(*) > 1
{%- endset -%}
{%- if execute and load_relation(model) is not none -%}
    {%- set spellings_sql -%}
    select {{ key }} as duplicated_value, {{ column_name }} as spelling
        {%- if located_by %}, {{ located_by }} as located{% endif %}
    from {{ model }}
    where {{ key }} in (select duplicated_value from ({{ duplicates_sql }}) as duplicates)
    order by 1, 2
    {%- endset -%}
    {%- set found = run_query(spellings_sql) -%}
    {%- if found.rows | length > 0 -%}
        {%- set names = {} -%}
        {%- for row in found.rows -%}
            {%- set spelling = "'" ~ row[1] ~ "'" ~ ((" in " ~ row[2]) if located_by else "") -%}
            {%- do names.setdefault(row[0], []).append(spelling) -%}
        {%- endfor -%}
        {%- set listed = [] -%}
        {%- for value, spellings in names.items() -%}
            {%- do listed.append("'" ~ value ~ "' (" ~ spellings | join(", ") ~ ")") -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            model.identifier ~ "." ~ column_name ~ " must be unique ignoring case and spaces; "
            ~ "duplicated: " ~ listed | join("; ") ~ ". Keep one row per name.") }}
    {%- endif -%}
{%- endif %}
{{ duplicates_sql }}
{% endtest %}

{#- Generic test: a key column is never null and never repeated, in one grouped scan (instead of
    `unique` and `not_null`, two scans of the same column). With only_keys_not_yet_tested (the
    append-only incremental models, macros/incremental.sql), only the keys of the rows not yet
    tested are checked, each against the whole table. -#}
{% test unique_not_null(model, column_name, only_keys_not_yet_tested=false) %}
{#- every row is untested (no record yet: a first build): the whole table, without the filter -#}
{%- set untested = rows_not_yet_tested(model) | trim if only_keys_not_yet_tested else 'true' %}
select {{ column_name }}, count(*) as n_rows
from {{ model }}
{%- if untested != 'true' %}
where {{ column_name }} in (
    select {{ column_name }} from {{ model }}
    where {{ untested }}
)
    or ({{ column_name }} is null and {{ untested }})
{%- endif %}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}

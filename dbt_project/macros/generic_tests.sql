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

{#- Generic test: a key column is never null and never repeated, in one grouped scan (instead of
    `unique` and `not_null`, two scans of the same column). -#}
{% test unique_not_null(model, column_name) %}
select {{ column_name }}, count(*) as n_rows
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}

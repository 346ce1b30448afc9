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

{#- A subscription is active on a date when it started on or before the date and had not ended
    by it (no end means still running; ending on the date means no longer active). Dates in,
    a boolean expression out: sum(case when {{ is_active_on(...) }} then mrr else 0 end). -#}
{% macro is_active_on(started_date, ended_date, on_date) -%}
    {{ started_date }} <= {{ on_date }} and ({{ ended_date }} is null or {{ ended_date }} > {{ on_date }})
{%- endmacro %}

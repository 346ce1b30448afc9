{#- Keep one row per partition: the first by order_by (make order_by total for determinism).
    Used for redeliveries: the same primary key loaded more than once. -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            _dedup_source.*,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _dedup_row_number
        from {{ relation }} as _dedup_source
    ) as _dedup_ranked
    where _dedup_row_number = 1
{%- endmacro %}

{#- Deterministic tie-breaker over the load columns: latest load, then file and line. -#}
{% macro latest_load_order() -%}
    _loaded_at desc, _source_file desc, _source_line desc
{%- endmacro %}

{#- Keep one row per partition: the first by order_by (make order_by total for determinism).
    Used for redeliveries: the same primary key loaded more than once. -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {#- Only keys delivered more than once are ranked. A window over every row held the whole
        table in memory: stg_product__events ran out of a 4GB limit at 100,000 accounts (32 M
        rows), also with a narrow window. Counting keys is a hash aggregate and the rest are
        hash joins, which spill; the ranked set is the redeliveries, a small share. The keys are
        counted by dedup_key() (below); rows whose key is counted more than once are ranked by
        their real partition, so a shared dedup_key never merges two keys. -#}
    {%- set key = dedup_key(partition_by) %}
    with _dedup_keys as (
        select {{ key }} as _dedup_key, true as _dedup_repeated
        from {{ relation }}
        group by {{ key }}
        having count(*) > 1
    )

    select _dedup_single.*, 1 as _dedup_row_number
    from {{ relation }} as _dedup_single
    left join _dedup_keys
        on {{ key }} is not distinct from _dedup_keys._dedup_key
    where _dedup_keys._dedup_repeated is null

    union all

    select *
    from (
        select
            _dedup_source.*,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _dedup_row_number
        from {{ relation }} as _dedup_source
        inner join _dedup_keys
            on {{ key }} is not distinct from _dedup_keys._dedup_key
    ) as _dedup_ranked
    where _dedup_row_number = 1
{%- endmacro %}

{#- The value deduplicate() counts keys by: equal for rows of one partition (nulls match nulls,
    as in a partition). By default row() of the partition's columns; on DuckDB their 64-bit
    hash, which is never null and groups far faster than the key text (at 100,000 accounts the
    event ids are 33 M strings), and two keys sharing a hash are only ranked by their real
    partition, never merged. -#}
{% macro dedup_key(partition_by) -%}
    {{ return(adapter.dispatch('dedup_key')(partition_by)) }}
{%- endmacro %}

{% macro default__dedup_key(partition_by) -%}
    row({{ partition_by }})
{%- endmacro %}

{% macro duckdb__dedup_key(partition_by) -%}
    hash({{ partition_by }})
{%- endmacro %}

{#- Deterministic tie-breaker over the load columns: latest load, then file and line. -#}
{% macro latest_load_order() -%}
    _loaded_at desc, _source_file desc, _source_line desc
{%- endmacro %}

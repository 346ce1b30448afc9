{#- Incremental staging of append-only raw tables (events, email events, invoices, tickets).

    Ingestion only appends to raw.<table>, stamping each file's rows with one _loaded_at
    (the time that file was loaded, later for every later file), and never loads a file's
    content twice. So on an incremental run the rows a model has not seen yet are exactly the
    raw rows loaded after the latest loaded_at already in it: loaded_after_watermark() keeps
    those (every raw row on a full build). An empty model has no watermark: everything is new.

    Each model then keeps its full-build rule exactly (see each model): first delivery wins
    (events) -> new ids only, an id already kept is never replaced (not_already_kept());
    latest delivery wins (invoices) -> a new delivery replaces the kept row (delete+insert on
    the id); any other order (tickets) -> the ids touched are re-deduplicated over all their
    raw rows (raw_rows_of_touched_ids()).
    A change to a model's logic is not applied to rows already kept: run a full refresh. -#}

{% macro loaded_after_watermark(loaded_at_column='_loaded_at') -%}
    {%- if is_incremental() %}
    where {{ to_utc_timestamp(loaded_at_column) }} > (
        select coalesce(max(_watermark.loaded_at), cast('-infinity' as {{ dbt.type_timestamp() }}))
        from {{ this }} as _watermark
    )
    {%- endif %}
{%- endmacro %}

{#- On an incremental run, drop rows whose key the model already holds (first delivery wins). -#}
{% macro not_already_kept(relation, key) -%}
    {%- if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as _kept
        where _kept.{{ key }} = {{ relation }}.{{ key }}
    )
    {%- endif %}
{%- endmacro %}

{#- On an incremental run, every raw row of the ids that have a row loaded after the watermark
    (all of them on a full build): for a dedup order that is not the load order. -#}
{% macro raw_rows_of_touched_ids(source_relation, id_expression) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where {{ id_expression }} in (
        select {{ id_expression }} from {{ source_relation }}
        {{ loaded_after_watermark() }}
    )
    {%- endif %}
{%- endmacro %}

{#- Data tests of an append-only incremental staging model test the rows its last build added.

    Rows a build keeps are never changed by a later one except by being replaced, and a
    replacement is a new row (a later loaded_at): so the rows every earlier build added were
    tested by that build's tests, and testing them again each day repeats a guarantee already
    given (at 100,000 accounts the full-table key test of product events alone took 14 s of a
    one-day refresh). Each such model records, in a pre-hook and in the same transaction as its
    rows, the watermark its build started from: <model>__added_after (-infinity on a full build,
    so a full refresh tests every row). A test configured with `where: added_by_last_build` then
    reads only the rows above it (get_where_subquery below), and `unique_not_null` with
    `keys_added_by_last_build: true` checks each added key against the whole table. -#}

{% macro added_after_relation(relation) -%}
    {%- do return(api.Relation.create(
        database=relation.database, schema=relation.schema,
        identifier=relation.identifier ~ '__added_after'
    )) -%}
{%- endmacro %}

{#- Pre-hook of the models above: the watermark this build adds rows after. -#}
{% macro record_added_after() -%}
    {#- known to this invocation's relation cache, so its tests find it after this first build -#}
    {%- do adapter.cache_added(added_after_relation(this)) -%}
    create or replace table {{ added_after_relation(this) }} as
    select
        {%- if is_incremental() %}
        coalesce(max(loaded_at), cast('-infinity' as {{ dbt.type_timestamp() }})) as loaded_after
        from {{ this }}
        {%- else %}
        cast('-infinity' as {{ dbt.type_timestamp() }}) as loaded_after
        {%- endif %}
{%- endmacro %}

{#- The predicate "added by the model's last build" (every row when nothing records it: a table
    of an earlier version, before its next build). -#}
{% macro added_by_last_build(relation) -%}
    {%- set recorded = added_after_relation(relation) -%}
    {%- if execute and load_relation(recorded) is not none -%}
        loaded_at > (select loaded_after from {{ recorded }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- dbt's test filter, with one named filter added: `where: added_by_last_build`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'added_by_last_build' -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ added_by_last_build(relation) ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
    {%- endif -%}
{%- endmacro %}

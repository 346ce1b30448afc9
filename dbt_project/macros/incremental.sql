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

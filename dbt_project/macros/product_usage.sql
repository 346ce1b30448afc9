{#- Incremental daily product usage (fct_product_usage_daily).

    A customer-day row depends on three things besides its own events: which customer each product
    user resolves to (identity resolution, which a new CRM row can change for old events), which
    canonical event each raw event name maps to (the taxonomy, which a user's addition can change),
    and which events have been loaded. After each build the model keeps what it was built from in
    one side table, <model>__built_from, written by a post-hook in the same transaction as the
    rows, so the two never disagree even when a run is killed. The next incremental build compares
    that with the current state and recomputes only the customer-days it can change. -#}

{% macro product_usage_built_from() -%}
    {{ adapter.quote(this.schema) }}.{{ adapter.quote(this.identifier ~ '__built_from') }}
{%- endmacro %}

{#- The state a build is made from: one row per (kind, key) with the value it maps to. -#}
{% macro product_usage_current_state() -%}
    select 'product_user' as kind, identifier as key, customer_key as value
    from ({{ resolved_identifiers('product_user') }}) as users
    union all
    select 'event_name' as kind, raw_event_name_normalised as key, canonical_event as value
    from {{ ref('int_event_taxonomy') }}
    union all
    select 'events_loaded_through' as kind, null as key, cast(max(loaded_at) as {{ dbt.type_string() }}) as value
    from {{ ref('stg_product__events') }}
{%- endmacro %}

{#- Post-hook: record what this build was made from (replaces the previous record). -#}
{% macro record_product_usage_built_from() -%}
    create or replace table {{ product_usage_built_from() }} as
    {{ product_usage_current_state() }}
{%- endmacro %}

{#- True when an incremental build has a record to compare with (the model refuses to build
    incrementally without one: a table built by an earlier version, or a dropped side table). -#}
{% macro product_usage_has_built_from() -%}
    {%- set relation = adapter.get_relation(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '__built_from'
    ) -%}
    {{ return(relation is not none) }}
{%- endmacro %}

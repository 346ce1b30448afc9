{{ config(materialized='view') }}
-- A view, not a table: a left join of the event table to a small lookup with a unique key, cheap
-- to recompute in each reader and costly to write (millions of rows, every run). Its grain
-- (one row per event_id) is the staging model's, tested there; the lookup's key is tested unique.
with

events as (

    select * from {{ ref('stg_product__events') }}

),

taxonomy as (

    select * from {{ ref('int_event_taxonomy') }}

),

normalised as (

    select
        events.event_id,
        events.user_id,
        events.event_name,
        events.event_name_normalised,
        taxonomy.canonical_event,
        taxonomy.event_category,
        taxonomy.tracking_version,
        taxonomy.canonical_event is not null as is_mapped,
        events.occurred_at,
        events.event_date

    from events
    left join taxonomy
        on events.event_name_normalised = taxonomy.raw_event_name_normalised

)

select * from normalised

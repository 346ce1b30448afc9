{{ config(materialized='view') }}
-- A view, not a table: a left join of the event table to a small lookup with a unique key, cheap
-- to recompute in each reader and costly to write (millions of rows, every run). Its grain
-- (one row per event_id) is the staging model's, tested there; the lookup's key is tested unique.
-- One row per deduplicated product event (int_events_normalised), with the customer its product
-- user resolves to in the identity graph (null when it resolves to none). The one place this source
-- is attributed to customers.
with

events as (

    select * from {{ ref('int_events_normalised') }}

),

identity as (

    {{ resolved_identifiers('product_user') }}

),

attributed as (

    select
        identity.customer_key,
        events.*
    from events
    left join identity on events.user_id = identity.identifier

)

select * from attributed

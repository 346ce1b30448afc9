{{ config(materialized='view') }}
-- A view, not a table: a left join of the event table to a small lookup with a unique key, cheap
-- to recompute in each reader and costly to write (millions of rows, every run). Its grain
-- (one row per event_id) is the staging model's, tested there; the lookup's key is tested unique.
-- One row per email event (stg_email__events), with the customer its recipient email resolves to in
-- the identity graph (null when it resolves to none). The one place this source is attributed to
-- customers.
with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

identity as (

    {{ resolved_identifiers('email') }}

),

attributed as (

    select
        identity.customer_key,
        email_events.*
    from email_events
    left join identity on email_events.email = identity.identifier

)

select * from attributed

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

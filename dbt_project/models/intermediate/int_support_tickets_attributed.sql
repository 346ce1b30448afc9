-- One row per support ticket (stg_support__tickets), with the customer its requester email resolves
-- to in the identity graph (null when it resolves to none). The one place this source is attributed
-- to customers.
with

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

identity as (

    {{ resolved_identifiers('email') }}

),

attributed as (

    select
        identity.customer_key,
        tickets.*
    from tickets
    left join identity on tickets.email = identity.identifier

)

select * from attributed

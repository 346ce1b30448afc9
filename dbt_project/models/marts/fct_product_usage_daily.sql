-- One row per customer per day with product activity: events, active users, distinct canonical events.
with

events as (

    select * from {{ ref('int_events_normalised') }}

),

identity as (

    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'product_user' and customer_key is not null

)

select
    identity.customer_key,
    events.event_date,
    count(*) as events,
    count(distinct events.user_id) as active_users,
    count(distinct events.canonical_event) as distinct_canonical_events
from events
inner join identity on events.user_id = identity.identifier
group by identity.customer_key, events.event_date

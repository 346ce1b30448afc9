-- One row per customer per day with product activity: events, active users, distinct canonical events.
with

events as (

    select * from {{ ref('int_events_attributed') }}
    where customer_key is not null

)

select
    customer_key,
    event_date,
    count(*) as events,
    count(distinct user_id) as active_users,
    count(distinct canonical_event) as distinct_canonical_events
from events
group by customer_key, event_date

-- One row per customer per campaign: messages delivered, opened, clicked, unsubscribed and bounced
-- (counted per recipient email, so a customer with three reachable contacts can have three).
with

email_events as (

    select * from {{ ref('int_email_events_attributed') }}
    where customer_key is not null

),

messages as (

    select
        email_events.customer_key,
        email_events.campaign_id,
        email_events.email,
        max(case when email_events.event_type = 'delivered' then 1 else 0 end) as delivered,
        max(case when email_events.event_type = 'open' then 1 else 0 end) as opened,
        max(case when email_events.event_type = 'click' then 1 else 0 end) as clicked,
        max(case when email_events.event_type = 'unsubscribe' then 1 else 0 end) as unsubscribed,
        max(case when email_events.event_type = 'bounce' then 1 else 0 end) as bounced,
        min(email_events.occurred_at) as first_event_at
    from email_events
    group by email_events.customer_key, email_events.campaign_id, email_events.email

)

select
    customer_key,
    campaign_id,
    count(*) as recipients,
    sum(delivered) as delivered,
    sum(opened) as opened,
    sum(clicked) as clicked,
    sum(unsubscribed) as unsubscribed,
    sum(bounced) as bounced,
    min(first_event_at) as first_event_at
from messages
group by customer_key, campaign_id

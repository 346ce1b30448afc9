-- One row per customer with email events on or before the reference date: deliveries and
-- open/click rates over the 90 days ending at the reference date, and whether it ever unsubscribed.
with

reference as (

    select
        reference_date,
        cast({{ dbt.dateadd('day', -90, 'reference_date') }} as date) as date_90d_ago
    from {{ ref('reference_period') }}

),

email_events as (

    select
        email_events.customer_key,
        email_events.campaign_id,
        email_events.email,
        email_events.event_type,
        cast(email_events.occurred_at as date) as event_date
    from {{ ref('int_email_events_attributed') }} as email_events
    cross join reference
    where
        email_events.customer_key is not null
        and cast(email_events.occurred_at as date) <= reference.reference_date

),

-- A message is one campaign sent to one recipient email.
messages as (

    select
        email_events.customer_key,
        email_events.campaign_id,
        email_events.email,
        max(case
            when email_events.event_type = 'delivered' and email_events.event_date > reference.date_90d_ago
                then 1
            else 0
        end) as delivered_90d,
        max(case when email_events.event_type = 'open' then 1 else 0 end) as opened,
        max(case when email_events.event_type = 'click' then 1 else 0 end) as clicked,
        max(case when email_events.event_type = 'unsubscribe' then 1 else 0 end) as unsubscribed
    from email_events
    cross join reference
    group by email_events.customer_key, email_events.campaign_id, email_events.email

),

rollup as (

    select
        customer_key,
        sum(delivered_90d) as emails_delivered_90d,
        sum(case when delivered_90d = 1 and opened = 1 then 1 else 0 end) as opened_90d,
        sum(case when delivered_90d = 1 and (clicked = 1) then 1 else 0 end) as clicked_90d,
        max(unsubscribed) as unsubscribed
    from messages
    group by customer_key

)

select
    customer_key,
    emails_delivered_90d,
    case when emails_delivered_90d > 0 then 1.0 * opened_90d / emails_delivered_90d end as email_open_rate_90d,
    case when emails_delivered_90d > 0 then 1.0 * clicked_90d / emails_delivered_90d end as email_click_rate_90d,
    unsubscribed = 1 as unsubscribed_flag
from rollup

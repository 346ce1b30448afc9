-- One row per customer and snapshot with email events on or before the snapshot's as-of date:
-- deliveries and open/click rates over the 90 days ending on it, and whether it ever unsubscribed.
with

snapshots as (

    select
        snapshot,
        as_of_date,
        cast({{ dbt.dateadd('day', -90, 'as_of_date') }} as date) as date_90d_ago
    from {{ ref('attribute_snapshot_dates') }}

),

-- Each email event once per snapshot that can see it.
email_events as (

    select
        snapshots.snapshot,
        snapshots.date_90d_ago,
        email_events.customer_key,
        email_events.campaign_id,
        email_events.email,
        email_events.event_type,
        cast(email_events.occurred_at as date) as event_date
    from {{ ref('int_email_events_attributed') }} as email_events
    inner join snapshots on cast(email_events.occurred_at as date) <= snapshots.as_of_date
    where email_events.customer_key is not null

),

-- A message is one campaign sent to one recipient email.
messages as (

    select
        customer_key,
        snapshot,
        campaign_id,
        email,
        max(case
            when event_type = 'delivered' and event_date > date_90d_ago then 1 else 0
        end) as delivered_90d,
        max(case when event_type = 'open' then 1 else 0 end) as opened,
        max(case when event_type = 'click' then 1 else 0 end) as clicked,
        max(case when event_type = 'unsubscribe' then 1 else 0 end) as unsubscribed
    from email_events
    group by customer_key, snapshot, campaign_id, email

),

rollup as (

    select
        customer_key,
        snapshot,
        sum(delivered_90d) as emails_delivered_90d,
        sum(case when delivered_90d = 1 and opened = 1 then 1 else 0 end) as opened_90d,
        sum(case when delivered_90d = 1 and (clicked = 1) then 1 else 0 end) as clicked_90d,
        max(unsubscribed) as unsubscribed
    from messages
    group by customer_key, snapshot

)

select
    rollup.customer_key,
    rollup.snapshot,
    snapshots.as_of_date,
    rollup.emails_delivered_90d,
    case
        when rollup.emails_delivered_90d > 0 then 1.0 * rollup.opened_90d / rollup.emails_delivered_90d
    end as email_open_rate_90d,
    case
        when rollup.emails_delivered_90d > 0 then 1.0 * rollup.clicked_90d / rollup.emails_delivered_90d
    end as email_click_rate_90d,
    rollup.unsubscribed = 1 as unsubscribed_flag
from rollup
inner join snapshots on rollup.snapshot = snapshots.snapshot

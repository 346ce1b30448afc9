-- One row per customer and snapshot with product events on or before the snapshot's as-of date:
-- activity volume, breadth, recency and trend over windows ending on that date.
{% set trend_cap = 5.0 %}

with

snapshots as (

    select
        snapshot,
        as_of_date,
        cast({{ dbt.dateadd('day', -30, 'as_of_date') }} as date) as date_30d_ago,
        cast({{ dbt.dateadd('day', -90, 'as_of_date') }} as date) as date_90d_ago
    from {{ ref('attribute_snapshot_dates') }}

),

-- Each event once per snapshot that can see it.
events as (

    select
        snapshots.snapshot,
        events.customer_key,
        events.user_id,
        events.canonical_event,
        events.event_date
    from {{ ref('int_events_attributed') }} as events
    inner join snapshots on events.event_date <= snapshots.as_of_date
    where events.customer_key is not null

),

windowed as (

    select
        events.customer_key,
        events.snapshot,
        count(distinct case when events.event_date > snapshots.date_30d_ago then events.user_id end)
            as active_users_30d,
        count(distinct case when events.event_date > snapshots.date_30d_ago then events.event_date end)
            as active_days_30d,
        count(distinct case when events.event_date > snapshots.date_90d_ago then events.event_date end)
            as active_days_90d,
        sum(case when events.event_date > snapshots.date_30d_ago then 1 else 0 end) as events_30d,
        sum(case when events.event_date > snapshots.date_90d_ago then 1 else 0 end) as events_90d,
        sum(case
            when events.event_date > snapshots.date_90d_ago and events.event_date <= snapshots.date_30d_ago
                then 1
            else 0
        end) as events_prior_60d,
        count(distinct case when events.event_date > snapshots.date_90d_ago then events.canonical_event end)
            as feature_breadth_90d,
        max(events.event_date) as last_activity_date
    from events
    inner join snapshots on events.snapshot = snapshots.snapshot
    group by events.customer_key, events.snapshot

)

select
    windowed.customer_key,
    windowed.snapshot,
    snapshots.as_of_date,
    windowed.active_users_30d,
    windowed.active_days_30d,
    windowed.active_days_90d,
    windowed.events_30d,
    windowed.events_90d,
    case
        when windowed.active_days_90d > 0 then 1.0 * windowed.events_90d / windowed.active_days_90d
    end as events_per_active_day_90d,
    windowed.feature_breadth_90d,
    {{ dbt.datediff('windowed.last_activity_date', 'snapshots.as_of_date', 'day') }}  -- noqa: LT05
        as days_since_last_activity,
    -- Last 30 days against the average 30 days of the 60 before, capped at {{ trend_cap }}x
    -- (activity starting from nothing counts as the cap); undefined with no activity in 90 days.
    case
        when windowed.events_90d = 0 then null
        when windowed.events_prior_60d = 0 then {{ trend_cap }}
        when windowed.events_30d / (windowed.events_prior_60d / 2.0) > {{ trend_cap }} then {{ trend_cap }}
        else windowed.events_30d / (windowed.events_prior_60d / 2.0)
    end as usage_trend_30d
from windowed
inner join snapshots on windowed.snapshot = snapshots.snapshot

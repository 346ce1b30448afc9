-- One row per customer and snapshot with product events on or before the snapshot's as-of date:
-- activity volume, breadth, recency and trend over windows ending on that date.
-- Day counts, volumes and recency come from the daily rollup (fct_product_usage_daily, one row per
-- customer and active day). Only the two distinct counts over a window (users in 30 days, canonical
-- events in 90) need the events, and only those of the 90 days a snapshot sees: each event is read
-- once at most, where joining every event to every snapshot that can see it read most twice.
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

daily as (

    select
        snapshots.snapshot,
        usage.customer_key,
        count(case when usage.event_date > snapshots.date_30d_ago then 1 end) as active_days_30d,
        count(case when usage.event_date > snapshots.date_90d_ago then 1 end) as active_days_90d,
        sum(case when usage.event_date > snapshots.date_30d_ago then usage.events else 0 end) as events_30d,
        sum(case when usage.event_date > snapshots.date_90d_ago then usage.events else 0 end) as events_90d,
        sum(case
            when usage.event_date > snapshots.date_90d_ago and usage.event_date <= snapshots.date_30d_ago
                then usage.events
            else 0
        end) as events_prior_60d,
        max(usage.event_date) as last_activity_date
    from {{ ref('fct_product_usage_daily') }} as usage
    inner join snapshots on usage.event_date <= snapshots.as_of_date
    group by snapshots.snapshot, usage.customer_key

),

recent as (

    select
        snapshots.snapshot,
        events.customer_key,
        count(distinct case when events.event_date > snapshots.date_30d_ago then events.user_id end)
            as active_users_30d,
        count(distinct events.canonical_event) as feature_breadth_90d
    from {{ ref('int_events_attributed') }} as events
    inner join snapshots
        on
            events.event_date > snapshots.date_90d_ago
            and events.event_date <= snapshots.as_of_date
    where events.customer_key is not null
    group by snapshots.snapshot, events.customer_key

)

select
    daily.customer_key,
    daily.snapshot,
    snapshots.as_of_date,
    coalesce(recent.active_users_30d, 0) as active_users_30d,
    daily.active_days_30d,
    daily.active_days_90d,
    daily.events_30d,
    daily.events_90d,
    case
        when daily.active_days_90d > 0 then 1.0 * daily.events_90d / daily.active_days_90d
    end as events_per_active_day_90d,
    coalesce(recent.feature_breadth_90d, 0) as feature_breadth_90d,
    {{ dbt.datediff('daily.last_activity_date', 'snapshots.as_of_date', 'day') }}  -- noqa: LT05
        as days_since_last_activity,
    -- Last 30 days against the average 30 days of the 60 before, capped at {{ trend_cap }}x
    -- (activity starting from nothing counts as the cap); undefined with no activity in 90 days.
    case
        when daily.events_90d = 0 then null
        when daily.events_prior_60d = 0 then {{ trend_cap }}
        when daily.events_30d / (daily.events_prior_60d / 2.0) > {{ trend_cap }} then {{ trend_cap }}
        else daily.events_30d / (daily.events_prior_60d / 2.0)
    end as usage_trend_30d
from daily
inner join snapshots on daily.snapshot = snapshots.snapshot
left join recent on daily.customer_key = recent.customer_key and daily.snapshot = recent.snapshot

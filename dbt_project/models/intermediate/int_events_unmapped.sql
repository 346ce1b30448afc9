with

events as (

    select * from {{ ref('int_events_normalised') }}

),

unmapped as (

    select
        event_name_normalised as raw_event_name_normalised,
        min(event_name) as example_event_name,
        count(*) as event_count,
        count(distinct user_id) as user_count,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at

    from events
    where not is_mapped
    group by event_name_normalised

)

select * from unmapped

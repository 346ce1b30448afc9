{%- set window_days = var('capture_window_days') -%}

with

-- daily volume by raw name (incremental), mapped to canonical events by the taxonomy in use now
names_daily as (

    select * from {{ ref('int_event_names_daily') }}

),

taxonomy as (

    select * from {{ ref('int_event_taxonomy') }}

),

daily as (

    select
        taxonomy.canonical_event,
        names_daily.event_date,
        sum(names_daily.event_count) as event_count
    from names_daily
    inner join taxonomy
        on names_daily.event_name_normalised = taxonomy.raw_event_name_normalised
    where taxonomy.canonical_event is not null
    group by taxonomy.canonical_event, names_daily.event_date

),

-- the spine covers every day with any event, mapped or not: when a rename is missing from the
-- taxonomy the canonical event drops to zero while the raw events keep arriving
bounds as (

    select
        min(event_date) as first_date,
        {{ dbt.datediff('min(event_date)', 'max(event_date)', 'day') }}
            as day_span
    from names_daily

),

digits as (

    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9

),

day_offsets as (

    -- 0..9999 days: enough for 27 years of history without a warehouse-specific generator
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands

),

date_spine as (

    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_date') }} as date) as event_date
    from day_offsets
    cross join bounds
    where day_offsets.day_offset <= bounds.day_span

),

canonical_events as (

    select distinct canonical_event from daily

),

filled as (

    select
        canonical_events.canonical_event,
        date_spine.event_date,
        coalesce(daily.event_count, 0) as event_count

    from canonical_events
    cross join date_spine
    left join daily
        on
            canonical_events.canonical_event = daily.canonical_event
            and date_spine.event_date = daily.event_date

),

windowed as (

    select
        canonical_event,
        event_date,
        event_count,
        avg(cast(event_count as {{ dbt.type_float() }})) over (
            partition by canonical_event order by event_date
            rows between {{ window_days }} preceding and 1 preceding
        ) as mean_daily_before,
        count(*) over (
            partition by canonical_event order by event_date
            rows between {{ window_days }} preceding and 1 preceding
        ) as days_before,
        avg(cast(event_count as {{ dbt.type_float() }})) over (
            partition by canonical_event order by event_date
            rows between current row and {{ window_days - 1 }} following
        ) as mean_daily_after,
        count(*) over (
            partition by canonical_event order by event_date
            rows between current row and {{ window_days - 1 }} following
        ) as days_after

    from filled

),

flagged as (

    select
        canonical_event,
        event_date,
        event_count,
        mean_daily_before,
        mean_daily_after,
        mean_daily_after / nullif(mean_daily_before, 0) as volume_ratio,
        -- a step change: both windows complete, enough volume to judge, and the mean daily
        -- volume jumps or collapses at this date (a tracking change the taxonomy missed)
        coalesce(
            days_before = {{ window_days }}
            and days_after = {{ window_days }}
            and (
                case when mean_daily_before > mean_daily_after then mean_daily_before else mean_daily_after end
            ) >= {{ var('capture_min_daily_volume') }}
            and (
                mean_daily_before = 0
                or mean_daily_after / mean_daily_before < {{ var('capture_ratio_low') }}
                or mean_daily_after / mean_daily_before > {{ var('capture_ratio_high') }}
            ),
            false
        ) as is_step_change

    from windowed

)

select * from flagged

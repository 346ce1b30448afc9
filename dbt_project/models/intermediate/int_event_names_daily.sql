{{
    config(
        materialized='incremental',
        unique_key=['event_name_normalised', 'event_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- One row per raw event name (normalised) and day with events: the daily volume that capture
-- monitoring reads instead of the event table. It depends on nothing but the (append-only) events,
-- so an incremental run recounts only the name-days of events loaded since the last one; a taxonomy
-- change is applied by the readers, which join this to the taxonomy.
with

events as (

    select
        event_name_normalised,
        event_date,
        loaded_at
    from {{ ref('stg_product__events') }}

),

{%- if is_incremental() %}

touched as (

    select distinct event_name_normalised, event_date
    from events
    where loaded_at > (
        select coalesce(max(last_loaded_at), cast('-infinity' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )

),

{%- endif %}

daily as (

    select
        events.event_name_normalised,
        events.event_date,
        count(*) as event_count,
        max(events.loaded_at) as last_loaded_at
    from events
    {%- if is_incremental() %}
        inner join touched
            on
                events.event_name_normalised = touched.event_name_normalised
                and events.event_date = touched.event_date
    {%- endif %}
    group by events.event_name_normalised, events.event_date

)

select * from daily

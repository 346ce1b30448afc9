{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ reset_tested_through() }}"
    )
}}

-- Incremental (macros/incremental.sql): only raw rows loaded since the last run are read; the first
-- delivery wins, so an event_id already kept is never replaced by a later redelivery.

with

source as (

    select * from {{ source('product', 'product_events') }}
    {{ loaded_after_watermark() }}

),

-- trackers redeliver events: keep the first delivery of each event_id
deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('event_id'),
        order_by='_loaded_at, _source_file, _source_line'
    ) }}

),

renamed as (

    select
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('user_id') }} as user_id,
        event_name,
        -- join key for the taxonomy seed: any casing, surrounding whitespace ignored
        lower(trim(event_name)) as event_name_normalised,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        cast({{ to_utc_timestamp('occurred_at') }} as date) as event_date,
        properties,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed
{{ not_already_kept('renamed', 'event_id') }}

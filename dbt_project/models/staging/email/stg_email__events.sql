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

    select * from {{ source('email', 'email_events') }}
    {{ loaded_after_watermark() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('event_id'),
        order_by='_loaded_at, _source_file, _source_line'
    ) }}

),

normalised as (

    select
        *,
        {{ normalise_email('recipient_email') }} as email_normalised
    from deduplicated

),

renamed as (

    select
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('campaign_id') }} as campaign_id,
        recipient_email,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        {{ clean_label('event_type') }} as event_type,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed
{{ not_already_kept('renamed', 'event_id') }}

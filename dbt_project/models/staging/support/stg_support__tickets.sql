{{
    config(
        materialized='incremental',
        unique_key='ticket_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Incremental (macros/incremental.sql): the kept row is the latest resolution, not the latest load, so
-- every ticket with a row loaded since the last run is re-deduplicated over all its raw rows.

with

source as (

    {{ raw_rows_of_touched_ids(source('support', 'support_tickets'), clean_id('ticket_id')) }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('ticket_id'),
        order_by='resolved_at desc nulls last, ' ~ latest_load_order()
    ) }}

),

normalised as (

    select
        *,
        {{ normalise_email('requester_email') }} as email_normalised
    from deduplicated

),

renamed as (

    select
        {{ clean_id('ticket_id') }} as ticket_id,
        requester_email,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('resolved_at') }} as resolved_at,
        {{ clean_label('priority') }} as priority,
        {{ clean_label('category') }} as category,
        cast(satisfaction_score as {{ dbt.type_float() }}) as satisfaction_score,
        -- valid but unusable for resolution time: resolved before it was opened
        coalesce({{ to_utc_timestamp('resolved_at') }} < {{ to_utc_timestamp('created_at') }}, false)
            as has_invalid_resolution_time,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed

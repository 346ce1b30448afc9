with

source as (

    select * from {{ source('consent', 'consent_events') }}

),

-- the primary key is (email, purpose, recorded_at) after normalisation
deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=normalise_email('email') ~ ', ' ~ clean_label('purpose') ~ ', '
            ~ to_utc_timestamp('recorded_at'),
        order_by=latest_load_order()
    ) }}

),

normalised as (

    select
        *,
        {{ normalise_email('email') }} as email_normalised,
        {{ clean_label('purpose') }} as purpose_normalised,
        {{ to_utc_timestamp('recorded_at') }} as recorded_at_utc
    from deduplicated

),

renamed as (

    select
        {{ surrogate_key(['email_normalised', 'purpose_normalised', 'recorded_at_utc']) }}
            as consent_event_id,
        email as email_raw,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        purpose_normalised as purpose,
        cast(granted as {{ dbt.type_boolean() }}) as granted,
        recorded_at_utc as recorded_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed

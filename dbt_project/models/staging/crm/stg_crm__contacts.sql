with

source as (

    select * from {{ source('crm', 'crm_contacts') }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('contact_id'),
        order_by='updated_at desc nulls last, ' ~ latest_load_order()
    ) }}

),

normalised as (

    select
        *,
        {{ normalise_email('email') }} as email_normalised
    from deduplicated

),

renamed as (

    select
        {{ clean_id('contact_id') }} as contact_id,
        {{ clean_id('account_id') }} as account_id,
        email as email_raw,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        {{ is_generic_inbox('email_normalised') }} as is_generic_inbox,
        {{ is_personal_email_domain(email_domain('email_normalised')) }} as is_personal_email_domain,
        nullif(trim(full_name), '') as full_name,
        nullif(trim(job_title), '') as job_title,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed

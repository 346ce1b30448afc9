with

source as (

    select * from {{ source('billing', 'billing_customers') }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('billing_customer_id'),
        order_by=latest_load_order()
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
        {{ clean_id('billing_customer_id') }} as billing_customer_id,
        email as email_raw,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        {{ is_generic_inbox('email_normalised') }} as is_generic_inbox,
        {{ is_personal_email_domain(email_domain('email_normalised')) }} as is_personal_email_domain,
        nullif(trim(company_name), '') as company_name,
        {{ clean_id('crm_account_id') }} as crm_account_id,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed

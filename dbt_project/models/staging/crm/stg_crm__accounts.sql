with

source as (

    select * from {{ source('crm', 'crm_accounts') }}

),

-- redeliveries repeat an account: keep its most recently updated, then latest loaded, version
deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('account_id'),
        order_by='updated_at desc nulls last, ' ~ latest_load_order()
    ) }}

),

renamed as (

    select
        {{ clean_id('account_id') }} as account_id,
        nullif(trim(account_name), '') as account_name,
        website_domain as website_domain_raw,
        {{ normalise_domain('website_domain') }} as website_domain,
        nullif(trim(industry), '') as industry,
        cast(employee_count as {{ dbt.type_bigint() }}) as employee_count,
        upper(nullif(trim(country), '')) as country,
        {{ clean_id('parent_account_id') }} as parent_account_id,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ is_personal_email_domain(normalise_domain('website_domain')) }} as is_personal_website_domain,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed

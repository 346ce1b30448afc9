with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

billing_customers as (

    select * from {{ ref('stg_billing__customers') }}

),

product_users as (

    select * from {{ ref('stg_product__users') }}

),

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

email_events as (

    select * from {{ ref('stg_email__events') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__responses') }}

),

consent_events as (

    select * from {{ ref('stg_consent__events') }}

),

-- records that own an email address, with the CRM account they explicitly name (if any)
owners as (

    select
        email,
        'crm_contact' as owner_type,
        contact_id as owner_id,
        account_id as explicit_account_id
    from contacts
    where is_valid_email

    union all

    select
        email,
        'billing_customer' as owner_type,
        billing_customer_id as owner_id,
        crm_account_id as explicit_account_id
    from billing_customers
    where is_valid_email

    union all

    select
        email,
        'product_user' as owner_type,
        user_id as owner_id,
        cast(null as {{ dbt.type_string() }}) as explicit_account_id
    from product_users
    where is_valid_email

),

mentions as (

    select email from owners
    union
    select email from tickets
    where is_valid_email
    union
    select email from email_events
    where is_valid_email
    union
    select email from survey_responses
    where is_valid_email
    union
    select email from consent_events
    where is_valid_email

),

owner_counts as (

    select
        email,
        count(*) as owner_count,
        count(distinct explicit_account_id) as explicit_account_count
    from owners
    group by email

),

emails as (

    select
        mentions.email,
        {{ email_domain('mentions.email') }} as email_domain,
        {{ is_generic_inbox('mentions.email') }} as is_generic_inbox,
        {{ is_personal_email_domain(email_domain('mentions.email')) }} as is_personal_email_domain,
        coalesce(owner_counts.owner_count, 0) as owner_count,
        coalesce(owner_counts.explicit_account_count, 0) as explicit_account_count

    from mentions
    left join owner_counts
        on mentions.email = owner_counts.email

),

final as (

    select
        *,
        -- over-merge guard: a shared mailbox, or an address its owners' CRM links place at
        -- different accounts, links none of its owners (it would chain companies together)
        not(
            (is_generic_inbox and owner_count > 1)
            or explicit_account_count > 1
        ) as links_owners
    from emails

)

select * from final

-- One row per customer_key: the canonical customer with its identifiers, firmographics,
-- lifecycle dates, reachable email and consent state (current, over all loaded data).
-- Each concern is an intermediate model; this model joins them.
with

profiles as (

    select * from {{ ref('int_customer_profiles_resolved') }}

),

activity as (

    select * from {{ ref('int_customer_activity_summarised') }}

),

emails as (

    select * from {{ ref('int_customer_emails_selected') }}

),

consent as (

    select * from {{ ref('int_customer_consent_resolved') }}

),

identifiers as (

    select * from {{ ref('int_customer_identifiers_counted') }}

)

select
    profiles.customer_key,
    profiles.customer_type,
    profiles.crm_account_id,
    profiles.billing_customer_id,
    profiles.customer_name,
    profiles.website_domain,
    profiles.industry,
    profiles.sector,
    profiles.employee_count,
    profiles.country,
    profiles.parent_customer_key,
    profiles.created_at,
    case
        when activity.first_activity_at is null or activity.first_activity_at > profiles.created_at
            then profiles.created_at
        else activity.first_activity_at
    end as first_seen_at,
    activity.last_activity_at as last_seen_at,
    emails.primary_email,
    coalesce(consent.has_analytics_consent, false) as has_analytics_consent,
    coalesce(consent.has_marketing_consent, false) as has_marketing_consent,
    coalesce(identifiers.contact_count, 0) as contact_count,
    coalesce(identifiers.product_user_count, 0) as product_user_count,
    coalesce(identifiers.crm_account_count, 0) as crm_account_count
from profiles
left join activity on profiles.customer_key = activity.customer_key
left join emails on profiles.customer_key = emails.customer_key
left join consent on profiles.customer_key = consent.customer_key
left join identifiers on profiles.customer_key = identifiers.customer_key

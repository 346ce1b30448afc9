-- One row per customer_key: the canonical customer with its identifiers, firmographics,
-- lifecycle dates, reachable email and consent state (current, over all loaded data).

with

-- Identifiers that resolve to no customer (e.g. a product user with an unknown email) are left out.
identity as (

    select * from {{ ref('int_identity_resolved') }}
    where customer_key is not null

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

billing_customers as (

    select * from {{ ref('stg_billing__customers') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

consent_events as (

    select * from {{ ref('stg_consent__events') }}

),

customers as (

    select distinct
        customer_key,
        customer_type,
        anchor_type,
        anchor_id
    from identity

),

customer_accounts as (

    select
        identity.customer_key,
        accounts.*
    from identity
    inner join accounts on identity.identifier = accounts.account_id
    where identity.identifier_type = 'crm_account'

),

-- Fallback firmographics when the anchor account leaves a field empty (duplicate CRM records).
account_rollup as (

    select
        customer_key,
        min(created_at) as first_account_created_at,
        max(website_domain) as any_website_domain,
        max(industry) as any_industry,
        max(employee_count) as any_employee_count,
        max(country) as any_country
    from customer_accounts
    group by customer_key

),

customer_billing as (

    select
        identity.customer_key,
        billing_customers.*,
        row_number() over (
            partition by identity.customer_key
            order by billing_customers.created_at, billing_customers.billing_customer_id
        ) as billing_rank
    from identity
    inner join billing_customers on identity.identifier = billing_customers.billing_customer_id
    where identity.identifier_type = 'billing_customer'

),

billing_rollup as (

    select
        customer_key,
        min(created_at) as first_billing_created_at
    from customer_billing
    group by customer_key

),

customer_contacts as (

    select
        identity.customer_key,
        contacts.*
    from identity
    inner join contacts on identity.identifier = contacts.contact_id
    where identity.identifier_type = 'crm_contact'

),

-- Reachable person-level emails: contacts first (oldest first), then the billing email.
-- Shared inboxes (info@, support@, ...) never serve as the primary email.
email_candidates as (

    select
        customer_key,
        email,
        1 as source_rank,
        created_at
    from customer_contacts
    where email is not null and is_valid_email and not is_generic_inbox
    union all
    select
        customer_key,
        email,
        2 as source_rank,
        created_at
    from customer_billing
    where email is not null and is_valid_email and not is_generic_inbox

),

primary_emails as (

    select
        customer_key,
        email
    from (
        select
            customer_key,
            email,
            row_number() over (
                partition by customer_key order by source_rank, created_at, email
            ) as email_rank
        from email_candidates
    ) as ranked
    where email_rank = 1

),

customer_emails as (

    select
        customer_key,
        identifier as email
    from identity
    where identifier_type = 'email' and customer_key is not null

),

-- The latest consent event per email and purpose wins.
latest_consent as (

    select
        email,
        purpose,
        granted,
        recorded_at
    from (
        select
            email,
            purpose,
            granted,
            recorded_at,
            row_number() over (
                partition by email, purpose order by recorded_at desc, granted asc
            ) as consent_rank
        from consent_events
    ) as ranked
    where consent_rank = 1

),

-- Consent per customer and purpose: the primary email's latest decision (marketing reaches the
-- customer through that address); when the primary email has none, the most recent latest
-- decision among the customer's other emails. No recorded decision means no consent.
customer_decisions as (

    select
        customer_emails.customer_key,
        latest_consent.purpose,
        latest_consent.granted,
        row_number() over (
            partition by customer_emails.customer_key, latest_consent.purpose
            order by
                case when customer_emails.email = primary_emails.email then 0 else 1 end,
                latest_consent.recorded_at desc,
                latest_consent.granted asc
        ) as decision_rank
    from customer_emails
    inner join latest_consent on customer_emails.email = latest_consent.email
    left join primary_emails on customer_emails.customer_key = primary_emails.customer_key

),

customer_consent as (

    select
        customer_key,
        max(case when purpose = 'analytics' and granted then 1 else 0 end) = 1 as has_analytics_consent,
        max(case when purpose = 'marketing' and granted then 1 else 0 end) = 1 as has_marketing_consent
    from customer_decisions
    where decision_rank = 1
    group by customer_key

),

-- Dated interactions for first/last seen.
activity as (

    select
        identity.customer_key,
        min(events.occurred_at) as first_at,
        max(events.occurred_at) as last_at
    from {{ ref('int_events_normalised') }} as events
    inner join identity
        on identity.identifier_type = 'product_user' and events.user_id = identity.identifier
    group by identity.customer_key
    union all
    select
        identity.customer_key,
        min(invoices.issued_at) as first_at,
        max(invoices.issued_at) as last_at
    from {{ ref('stg_billing__invoices') }} as invoices
    inner join identity
        on identity.identifier_type = 'billing_customer' and invoices.billing_customer_id = identity.identifier
    group by identity.customer_key
    union all
    select
        identity.customer_key,
        min(tickets.created_at) as first_at,
        max(tickets.created_at) as last_at
    from {{ ref('stg_support__tickets') }} as tickets
    inner join identity
        on identity.identifier_type = 'email' and tickets.email = identity.identifier
    group by identity.customer_key
    union all
    select
        identity.customer_key,
        min(email_events.occurred_at) as first_at,
        max(email_events.occurred_at) as last_at
    from {{ ref('stg_email__events') }} as email_events
    inner join identity
        on identity.identifier_type = 'email' and email_events.email = identity.identifier
    group by identity.customer_key
    union all
    select
        identity.customer_key,
        min(surveys.submitted_at) as first_at,
        max(surveys.submitted_at) as last_at
    from {{ ref('stg_survey__responses') }} as surveys
    inner join identity
        on identity.identifier_type = 'email' and surveys.email = identity.identifier
    group by identity.customer_key

),

activity_rollup as (

    select
        customer_key,
        min(first_at) as first_activity_at,
        max(last_at) as last_activity_at
    from activity
    group by customer_key

),

identifier_counts as (

    select
        customer_key,
        sum(case when identifier_type = 'crm_contact' then 1 else 0 end) as contact_count,
        sum(case when identifier_type = 'product_user' then 1 else 0 end) as product_user_count,
        sum(case when identifier_type = 'crm_account' then 1 else 0 end) as crm_account_count
    from identity
    group by customer_key

),

industries as (

    select * from {{ ref('industry_hierarchy') }}

),

final as (

    select
        customers.customer_key,
        customers.customer_type,
        anchor_account.account_id as crm_account_id,
        first_billing.billing_customer_id,
        coalesce(anchor_account.account_name, first_billing.company_name) as customer_name,
        coalesce(anchor_account.website_domain, account_rollup.any_website_domain) as website_domain,
        coalesce(anchor_account.industry, account_rollup.any_industry) as industry,
        industries.sector,
        coalesce(anchor_account.employee_count, account_rollup.any_employee_count) as employee_count,
        coalesce(anchor_account.country, account_rollup.any_country) as country,
        case
            when parent_identity.customer_key <> customers.customer_key then parent_identity.customer_key
        end as parent_customer_key,
        case
            when account_rollup.first_account_created_at is null then billing_rollup.first_billing_created_at
            when billing_rollup.first_billing_created_at is null then account_rollup.first_account_created_at
            when account_rollup.first_account_created_at < billing_rollup.first_billing_created_at
                then account_rollup.first_account_created_at
            else billing_rollup.first_billing_created_at
        end as created_at,
        activity_rollup.first_activity_at,
        activity_rollup.last_activity_at as last_seen_at,
        primary_emails.email as primary_email,
        coalesce(customer_consent.has_analytics_consent, false) as has_analytics_consent,
        coalesce(customer_consent.has_marketing_consent, false) as has_marketing_consent,
        coalesce(identifier_counts.contact_count, 0) as contact_count,
        coalesce(identifier_counts.product_user_count, 0) as product_user_count,
        coalesce(identifier_counts.crm_account_count, 0) as crm_account_count
    from customers
    left join accounts as anchor_account
        on customers.anchor_type = 'crm_account' and customers.anchor_id = anchor_account.account_id
    left join account_rollup on customers.customer_key = account_rollup.customer_key
    left join customer_billing as first_billing
        on customers.customer_key = first_billing.customer_key and first_billing.billing_rank = 1
    left join billing_rollup on customers.customer_key = billing_rollup.customer_key
    left join identity as parent_identity
        on
            parent_identity.identifier_type = 'crm_account'
            and anchor_account.parent_account_id = parent_identity.identifier
    left join industries
        on lower(coalesce(anchor_account.industry, account_rollup.any_industry)) = lower(industries.industry)
    left join activity_rollup on customers.customer_key = activity_rollup.customer_key
    left join primary_emails on customers.customer_key = primary_emails.customer_key
    left join customer_consent on customers.customer_key = customer_consent.customer_key
    left join identifier_counts on customers.customer_key = identifier_counts.customer_key

)

select
    customer_key,
    customer_type,
    crm_account_id,
    billing_customer_id,
    customer_name,
    website_domain,
    industry,
    sector,
    employee_count,
    country,
    parent_customer_key,
    created_at,
    case
        when first_activity_at is null or first_activity_at > created_at then created_at
        else first_activity_at
    end as first_seen_at,
    last_seen_at,
    primary_email,
    has_analytics_consent,
    has_marketing_consent,
    contact_count,
    product_user_count,
    crm_account_count
from final

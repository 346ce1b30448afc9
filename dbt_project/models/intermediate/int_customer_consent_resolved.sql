-- One row per customer with at least one recorded consent decision on any of its emails:
-- analytics and marketing consent.
with

customer_emails as (

    select
        customer_key,
        identifier as email
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'email' and customer_key is not null

),

consent_events as (

    select * from {{ ref('stg_consent__events') }}

),

primary_emails as (

    select * from {{ ref('int_customer_emails_selected') }}

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
                case when customer_emails.email = primary_emails.primary_email then 0 else 1 end,
                latest_consent.recorded_at desc,
                latest_consent.granted asc
        ) as decision_rank
    from customer_emails
    inner join latest_consent on customer_emails.email = latest_consent.email
    left join primary_emails on customer_emails.customer_key = primary_emails.customer_key

)

select
    customer_key,
    max(case when purpose = 'analytics' and granted then 1 else 0 end) = 1 as has_analytics_consent,
    max(case when purpose = 'marketing' and granted then 1 else 0 end) = 1 as has_marketing_consent
from customer_decisions
where decision_rank = 1
group by customer_key

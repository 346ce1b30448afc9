-- One row per customer with a reachable person email: its primary email for marketing.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}
    where customer_key is not null

),

billing_customers as (

    select * from {{ ref('int_billing_customers_attributed') }}
    where customer_key is not null

),

-- Reachable person-level emails: contacts first (oldest first), then the billing email.
-- Shared inboxes (info@, support@, ...) never serve as the primary email.
email_candidates as (

    select
        customer_key,
        email,
        1 as source_rank,
        created_at
    from contacts
    where email is not null and is_valid_email and not is_generic_inbox
    union all
    select
        customer_key,
        email,
        2 as source_rank,
        created_at
    from billing_customers
    where email is not null and is_valid_email and not is_generic_inbox

),

ranked as (

    select
        customer_key,
        email,
        row_number() over (
            partition by customer_key order by source_rank, created_at, email
        ) as email_rank
    from email_candidates

)

select
    customer_key,
    email as primary_email
from ranked
where email_rank = 1

-- One row per customer with at least one dated interaction (product event, invoice, ticket,
-- email event, survey answer): its first and last interaction time.
with

activity as (

    -- product events from their daily rollup (incremental), not the event table
    select
        customer_key,
        min(first_event_at) as first_at,
        max(last_event_at) as last_at
    from {{ ref('fct_product_usage_daily') }}
    group by customer_key
    union all
    select
        customer_key,
        min(issued_at) as first_at,
        max(issued_at) as last_at
    from {{ ref('int_invoices_attributed') }}
    where customer_key is not null
    group by customer_key
    union all
    select
        customer_key,
        min(created_at) as first_at,
        max(created_at) as last_at
    from {{ ref('int_support_tickets_attributed') }}
    where customer_key is not null
    group by customer_key
    union all
    select
        customer_key,
        min(occurred_at) as first_at,
        max(occurred_at) as last_at
    from {{ ref('int_email_events_attributed') }}
    where customer_key is not null
    group by customer_key
    union all
    select
        customer_key,
        min(submitted_at) as first_at,
        max(submitted_at) as last_at
    from {{ ref('int_survey_responses_attributed') }}
    where customer_key is not null
    group by customer_key

)

select
    customer_key,
    min(first_at) as first_activity_at,
    max(last_at) as last_activity_at
from activity
group by customer_key

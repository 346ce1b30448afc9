-- One row per subscription (stg_billing__subscriptions), with the customer its billing customer
-- resolves to in the identity graph (null when it resolves to none), MRR zero-filled and the
-- UTC start and end dates every MRR-over-time model works from.
with

subscriptions as (

    select * from {{ ref('stg_billing__subscriptions') }}

),

identity as (

    {{ resolved_identifiers('billing_customer') }}

),

attributed as (

    select
        identity.customer_key,
        subscriptions.subscription_id,
        subscriptions.billing_customer_id,
        subscriptions.plan,
        coalesce(subscriptions.mrr, 0) as mrr,
        subscriptions.currency,
        subscriptions.status,
        subscriptions.started_at,
        subscriptions.ended_at,
        cast(subscriptions.started_at as date) as started_date,
        cast(subscriptions.ended_at as date) as ended_date,
        subscriptions.has_invalid_period
    from subscriptions
    left join identity on subscriptions.billing_customer_id = identity.identifier

)

select * from attributed

-- One row per customer and snapshot with billing data on or before the snapshot's as-of date:
-- MRR, revenue and payment behaviour as of that date (nothing after it is read). Recency,
-- frequency and monetary value over 90 and 365 days come from invoices alone, so purchase-only
-- data (no subscriptions, no product events) still has a recency feature.
with

snapshots as (

    select
        snapshot,
        as_of_date,
        cast({{ dbt.dateadd('day', -90, 'as_of_date') }} as date) as date_90d_ago,
        cast({{ dbt.dateadd('day', -365, 'as_of_date') }} as date) as date_365d_ago,
        cast({{ dbt.dateadd('day', -30, 'as_of_date') }} as date) as date_30d_ago
    from {{ ref('attribute_snapshot_dates') }}

),

subscriptions as (

    select
        customer_key,
        mrr,
        started_date,
        ended_date
    from {{ ref('int_subscriptions_attributed') }}
    where customer_key is not null

),

invoices as (

    select * from {{ ref('fct_invoices') }}
    where customer_key is not null

),

-- A subscription is active on a date when it started on or before it and had not ended by it
-- (macro is_active_on). Its end is read only through is_active_on, so an end after the as-of
-- date leaves it active.
subscription_value as (

    select
        subscriptions.customer_key,
        snapshots.snapshot,
        sum(case
            when
                {{ is_active_on('subscriptions.started_date', 'subscriptions.ended_date', 'snapshots.as_of_date') }}
                then subscriptions.mrr
            else 0
        end) as current_mrr,
        sum(case
            when
                {{ is_active_on('subscriptions.started_date', 'subscriptions.ended_date', 'snapshots.date_90d_ago') }}
                then subscriptions.mrr
            else 0
        end) as mrr_90d_ago,
        sum(case
            when
                {{ is_active_on('subscriptions.started_date', 'subscriptions.ended_date', 'snapshots.as_of_date') }}
                then 1
            else 0
        end) as active_subscriptions
    from subscriptions
    inner join snapshots on subscriptions.started_date <= snapshots.as_of_date
    group by subscriptions.customer_key, snapshots.snapshot

),

-- Late: not paid within 30 days of issue. Only invoices issued at least 30 days before the
-- as-of date can be judged, so the share never looks at payments after it.
invoice_value as (

    select
        invoices.customer_key,
        snapshots.snapshot,
        sum(case when invoices.issued_date > snapshots.date_365d_ago then invoices.amount else 0 end)
            as total_revenue_365d,
        sum(case when invoices.issued_date > snapshots.date_365d_ago then 1 else 0 end) as invoice_count_365d,
        sum(case when invoices.issued_date > snapshots.date_90d_ago then invoices.amount else 0 end)
            as total_revenue_90d,
        sum(case when invoices.issued_date > snapshots.date_90d_ago then 1 else 0 end) as invoice_count_90d,
        -- A purchase is an invoice for a positive amount: a refund or credit note is not one.
        max(case when invoices.amount > 0 then invoices.issued_date end) as last_purchase_date,
        sum(case
            when invoices.issued_date > snapshots.date_365d_ago and invoices.issued_date <= snapshots.date_30d_ago
                then 1
            else 0
        end) as judged_invoices_365d,
        sum(case
            when
                invoices.issued_date > snapshots.date_365d_ago and invoices.issued_date <= snapshots.date_30d_ago
                and (invoices.paid_at is null or invoices.days_to_pay > 30)
                then 1
            else 0
        end) as late_invoices_365d,
        sum(invoices.amount) as lifetime_revenue
    from invoices
    inner join snapshots on invoices.issued_date <= snapshots.as_of_date
    where invoices.status is null or invoices.status <> 'void'
    group by invoices.customer_key, snapshots.snapshot

),

customers as (

    select
        customer_key,
        snapshot
    from subscription_value
    union
    select
        customer_key,
        snapshot
    from invoice_value

)

select
    customers.customer_key,
    customers.snapshot,
    snapshots.as_of_date,
    coalesce(subscription_value.current_mrr, 0) as current_mrr,
    coalesce(subscription_value.mrr_90d_ago, 0) as mrr_90d_ago,
    case
        when subscription_value.mrr_90d_ago > 0
            then (subscription_value.current_mrr - subscription_value.mrr_90d_ago) / subscription_value.mrr_90d_ago
    end as mrr_growth_90d,
    coalesce(subscription_value.active_subscriptions, 0) as active_subscriptions,
    coalesce(invoice_value.total_revenue_365d, 0) as total_revenue_365d,
    coalesce(invoice_value.invoice_count_365d, 0) as invoice_count_365d,
    case
        when invoice_value.invoice_count_365d > 0
            then invoice_value.total_revenue_365d / invoice_value.invoice_count_365d
    end as avg_invoice_amount,
    case
        when invoice_value.judged_invoices_365d > 0
            then 1.0 * invoice_value.late_invoices_365d / invoice_value.judged_invoices_365d
    end as late_payment_share,
    coalesce(invoice_value.lifetime_revenue, 0) as lifetime_revenue,
    coalesce(invoice_value.total_revenue_90d, 0) as total_revenue_90d,
    coalesce(invoice_value.invoice_count_90d, 0) as invoice_count_90d,
    {{ dbt.datediff('invoice_value.last_purchase_date', 'snapshots.as_of_date', 'day') }}
        as days_since_last_invoice
from customers
inner join snapshots on customers.snapshot = snapshots.snapshot
left join subscription_value
    on customers.customer_key = subscription_value.customer_key and customers.snapshot = subscription_value.snapshot
left join invoice_value
    on customers.customer_key = invoice_value.customer_key and customers.snapshot = invoice_value.snapshot

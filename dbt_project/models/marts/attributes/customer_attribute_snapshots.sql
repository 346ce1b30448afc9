-- One row per customer (every row of dim_customers) and snapshot: the one definition of the
-- attribute catalog, computed as of each snapshot's as-of date from data on or before it.
-- customer_attributes (scoring) and customer_attributes_validation (validation) select from it.
-- Counts are zero-filled when a source has no rows for the customer; rates and averages stay
-- null when undefined (no deliveries -> no open rate).
with

snapshots as (

    select
        snapshot,
        as_of_date
    from {{ ref('attribute_snapshot_dates') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

value_attributes as (

    select * from {{ ref('customer_value_attributes') }}

),

product_attributes as (

    select * from {{ ref('customer_product_attributes') }}

),

engagement_attributes as (

    select * from {{ ref('customer_engagement_attributes') }}

),

support_attributes as (

    select * from {{ ref('customer_support_attributes') }}

),

-- Contacts and users known on the as-of date.
contacts as (

    select
        contacts.customer_key,
        snapshots.snapshot,
        count(*) as contact_count
    from {{ ref('int_contacts_attributed') }} as contacts
    inner join snapshots
        on contacts.created_at is null or cast(contacts.created_at as date) <= snapshots.as_of_date
    where contacts.customer_key is not null
    group by contacts.customer_key, snapshots.snapshot

),

customer_snapshots as (

    select
        customers.*,
        cast(customers.created_at as date) as created_date,
        snapshots.snapshot,
        snapshots.as_of_date
    from customers
    cross join snapshots

)

select
    customer_snapshots.customer_key,
    customer_snapshots.snapshot,
    customer_snapshots.as_of_date as reference_date,
    customer_snapshots.customer_type,
    customer_snapshots.industry,
    customer_snapshots.sector,
    customer_snapshots.country,
    customer_snapshots.employee_count,
    case
        when customer_snapshots.created_date <= customer_snapshots.as_of_date
            then {{ dbt.datediff('customer_snapshots.created_date', 'customer_snapshots.as_of_date', 'day') }}
    end as tenure_days,
    coalesce(value_attributes.current_mrr, 0) as current_mrr,
    coalesce(value_attributes.mrr_90d_ago, 0) as mrr_90d_ago,
    value_attributes.mrr_growth_90d,
    coalesce(value_attributes.total_revenue_365d, 0) as total_revenue_365d,
    coalesce(value_attributes.invoice_count_365d, 0) as invoice_count_365d,
    value_attributes.avg_invoice_amount,
    value_attributes.late_payment_share,
    coalesce(value_attributes.active_subscriptions, 0) as active_subscriptions,
    coalesce(value_attributes.lifetime_revenue, 0) as lifetime_revenue,
    coalesce(value_attributes.total_revenue_90d, 0) as total_revenue_90d,
    coalesce(value_attributes.invoice_count_90d, 0) as invoice_count_90d,
    value_attributes.days_since_last_invoice,
    coalesce(product_attributes.active_users_30d, 0) as active_users_30d,
    coalesce(product_attributes.active_days_30d, 0) as active_days_30d,
    coalesce(product_attributes.active_days_90d, 0) as active_days_90d,
    coalesce(product_attributes.events_30d, 0) as events_30d,
    coalesce(product_attributes.events_90d, 0) as events_90d,
    product_attributes.events_per_active_day_90d,
    coalesce(product_attributes.feature_breadth_90d, 0) as feature_breadth_90d,
    product_attributes.days_since_last_activity,
    product_attributes.usage_trend_30d,
    coalesce(engagement_attributes.emails_delivered_90d, 0) as emails_delivered_90d,
    engagement_attributes.email_open_rate_90d,
    engagement_attributes.email_click_rate_90d,
    coalesce(engagement_attributes.unsubscribed_flag, false) as unsubscribed_flag,
    coalesce(support_attributes.tickets_90d, 0) as tickets_90d,
    coalesce(support_attributes.high_priority_tickets_90d, 0) as high_priority_tickets_90d,
    support_attributes.avg_resolution_hours_90d,
    support_attributes.support_csat_avg_365d,
    support_attributes.nps_latest,
    support_attributes.nps_avg_365d,
    coalesce(contacts.contact_count, 0) as contact_count
from customer_snapshots
left join value_attributes
    on
        customer_snapshots.customer_key = value_attributes.customer_key
        and customer_snapshots.snapshot = value_attributes.snapshot
left join product_attributes
    on
        customer_snapshots.customer_key = product_attributes.customer_key
        and customer_snapshots.snapshot = product_attributes.snapshot
left join engagement_attributes
    on
        customer_snapshots.customer_key = engagement_attributes.customer_key
        and customer_snapshots.snapshot = engagement_attributes.snapshot
left join support_attributes
    on
        customer_snapshots.customer_key = support_attributes.customer_key
        and customer_snapshots.snapshot = support_attributes.snapshot
left join contacts
    on
        customer_snapshots.customer_key = contacts.customer_key
        and customer_snapshots.snapshot = contacts.snapshot

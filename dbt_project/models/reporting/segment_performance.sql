-- One row per segment of the current segment model: size, outcomes in the window after the
-- reference date (retention, churn, expansion, conversion, revenue per customer) and campaign
-- engagement and support burden as of the reference date.
with

segments as (

    select * from {{ source('segmentation', 'customer_segments') }}

),

outcomes as (

    select * from {{ ref('customer_outcomes') }}

),

attributes as (

    select * from {{ ref('customer_attributes') }}

),

joined as (

    select
        segments.segment_id,
        segments.segment_name,
        segments.model_version,
        segments.customer_key,
        outcomes.paying_at_reference,
        outcomes.churned,
        outcomes.retained,
        outcomes.expanded,
        outcomes.converted,
        outcomes.revenue_after,
        outcomes.mrr_change,
        attributes.email_open_rate_90d,
        attributes.email_click_rate_90d,
        attributes.tickets_90d,
        attributes.current_mrr
    from segments
    left join outcomes on segments.customer_key = outcomes.customer_key
    left join attributes on segments.customer_key = attributes.customer_key

)

-- Rates over the customers they apply to: retention, churn and expansion over those paying on
-- the reference date, conversion over those not paying; null when a segment has none.
select
    segment_id,
    max(segment_name) as segment_name,
    max(model_version) as model_version,
    count(*) as customers,
    sum(case when paying_at_reference then 1 else 0 end) as paying_customers,
    avg(case when retained then 1.0 when retained is not null then 0.0 end) as retention_rate,
    avg(case when churned then 1.0 when churned is not null then 0.0 end) as churn_rate,
    avg(case when expanded then 1.0 when expanded is not null then 0.0 end) as expansion_rate,
    avg(case when converted then 1.0 when converted is not null then 0.0 end) as conversion_rate,
    avg(coalesce(revenue_after, 0)) as revenue_per_customer,
    sum(coalesce(revenue_after, 0)) as revenue_after,
    avg(coalesce(mrr_change, 0)) as avg_mrr_change,
    avg(coalesce(current_mrr, 0)) as avg_current_mrr,
    avg(email_open_rate_90d) as avg_email_open_rate,
    avg(email_click_rate_90d) as avg_email_click_rate,
    avg(coalesce(tickets_90d, 0)) as avg_tickets_90d
from joined
group by segment_id

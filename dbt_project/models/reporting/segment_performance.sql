-- One row per segment of the current segment model. Size, MRR, campaign engagement and support
-- burden describe the segments now (customer_segments on the attributes as of the scoring date).
-- Outcomes (retention, churn, expansion, conversion, revenue per customer in the outcome window)
-- are those of the customers the same model puts in each segment on the validation snapshot
-- (validation_segments): outcomes happen after the validation date, so they are compared with
-- what was known then, never with segments computed on the outcome window itself.
with

segments as (

    select * from {{ source('segmentation', 'customer_segments') }}

),

validation_segments as (

    select * from {{ source('segmentation', 'validation_segments') }}

),

outcomes as (

    select * from {{ ref('customer_outcomes') }}

),

attributes as (

    select * from {{ ref('customer_attributes') }}

),

current_profile as (

    select
        segments.segment_id,
        max(segments.segment_name) as segment_name,
        max(segments.model_version) as model_version,
        count(*) as customers,
        avg(coalesce(attributes.current_mrr, 0)) as avg_current_mrr,
        avg(attributes.email_open_rate_90d) as avg_email_open_rate,
        avg(attributes.email_click_rate_90d) as avg_email_click_rate,
        avg(coalesce(attributes.tickets_90d, 0)) as avg_tickets_90d
    from segments
    left join attributes on segments.customer_key = attributes.customer_key
    group by segments.segment_id

),

-- Rates over the customers they apply to: retention, churn and expansion over those paying on
-- the validation date, conversion over those not paying; null when a segment has none.
validated_outcomes as (

    select
        validation_segments.segment_id,
        count(*) as validated_customers,
        sum(case when outcomes.paying_at_reference then 1 else 0 end) as paying_customers,
        avg(case when outcomes.retained then 1.0 when outcomes.retained is not null then 0.0 end)
            as retention_rate,
        avg(case when outcomes.churned then 1.0 when outcomes.churned is not null then 0.0 end)
            as churn_rate,
        avg(case when outcomes.expanded then 1.0 when outcomes.expanded is not null then 0.0 end)
            as expansion_rate,
        avg(
            case when outcomes.converted then 1.0 when outcomes.converted is not null then 0.0 end
        ) as conversion_rate,
        avg(coalesce(outcomes.revenue_after, 0)) as revenue_per_customer,
        sum(coalesce(outcomes.revenue_after, 0)) as revenue_after,
        avg(coalesce(outcomes.mrr_change, 0)) as avg_mrr_change
    from validation_segments
    left join outcomes on validation_segments.customer_key = outcomes.customer_key
    group by validation_segments.segment_id

)

select
    current_profile.segment_id,
    current_profile.segment_name,
    current_profile.model_version,
    current_profile.customers,
    coalesce(validated_outcomes.validated_customers, 0) as validated_customers,
    coalesce(validated_outcomes.paying_customers, 0) as paying_customers,
    validated_outcomes.retention_rate,
    validated_outcomes.churn_rate,
    validated_outcomes.expansion_rate,
    validated_outcomes.conversion_rate,
    validated_outcomes.revenue_per_customer,
    validated_outcomes.revenue_after,
    validated_outcomes.avg_mrr_change,
    current_profile.avg_current_mrr,
    current_profile.avg_email_open_rate,
    current_profile.avg_email_click_rate,
    current_profile.avg_tickets_90d
from current_profile
left join validated_outcomes on current_profile.segment_id = validated_outcomes.segment_id

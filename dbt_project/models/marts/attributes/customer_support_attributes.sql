-- One row per customer with tickets or survey responses on or before the reference date:
-- support burden over 90 days, satisfaction over 365 days and the latest NPS answer.
with

reference as (

    select
        reference_date,
        cast({{ dbt.dateadd('day', -90, 'reference_date') }} as date) as date_90d_ago,
        cast({{ dbt.dateadd('day', -365, 'reference_date') }} as date) as date_365d_ago
    from {{ ref('reference_period') }}

),

tickets as (

    select fct_support_tickets.*
    from {{ ref('fct_support_tickets') }} as fct_support_tickets
    cross join reference
    where
        fct_support_tickets.customer_key is not null
        and fct_support_tickets.created_date <= reference.reference_date

),

responses as (

    select fct_survey_responses.*
    from {{ ref('fct_survey_responses') }} as fct_survey_responses
    cross join reference
    where
        fct_survey_responses.customer_key is not null
        and fct_survey_responses.submitted_date <= reference.reference_date

),

-- Resolution and satisfaction are known only once the ticket is resolved, so both need
-- resolved_at on or before the reference date.
ticket_rollup as (

    select
        tickets.customer_key,
        sum(case when tickets.created_date > reference.date_90d_ago then 1 else 0 end) as tickets_90d,
        sum(case
            when tickets.created_date > reference.date_90d_ago and tickets.is_high_priority then 1 else 0
        end) as high_priority_tickets_90d,
        avg(case
            when
                tickets.created_date > reference.date_90d_ago
                and cast(tickets.resolved_at as date) <= reference.reference_date
                then tickets.resolution_hours
        end) as avg_resolution_hours_90d,
        avg(case
            when
                tickets.created_date > reference.date_365d_ago
                and cast(tickets.resolved_at as date) <= reference.reference_date
                then tickets.satisfaction_score
        end) as support_csat_avg_365d
    from tickets
    cross join reference
    group by tickets.customer_key

),

nps as (

    select
        responses.customer_key,
        responses.score,
        responses.submitted_date,
        row_number() over (
            partition by responses.customer_key
            order by responses.submitted_at desc, responses.response_id desc
        ) as recency_rank
    from responses
    where responses.survey_type = 'nps'

),

nps_rollup as (

    select
        nps.customer_key,
        max(case when nps.recency_rank = 1 then nps.score end) as nps_latest,
        avg(case when nps.submitted_date > reference.date_365d_ago then nps.score end) as nps_avg_365d
    from nps
    cross join reference
    group by nps.customer_key

),

customers as (

    select customer_key from ticket_rollup
    union
    select customer_key from nps_rollup

)

select
    customers.customer_key,
    coalesce(ticket_rollup.tickets_90d, 0) as tickets_90d,
    coalesce(ticket_rollup.high_priority_tickets_90d, 0) as high_priority_tickets_90d,
    ticket_rollup.avg_resolution_hours_90d,
    ticket_rollup.support_csat_avg_365d,
    nps_rollup.nps_latest,
    nps_rollup.nps_avg_365d
from customers
left join ticket_rollup on customers.customer_key = ticket_rollup.customer_key
left join nps_rollup on customers.customer_key = nps_rollup.customer_key

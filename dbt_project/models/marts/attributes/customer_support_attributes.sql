-- One row per customer and snapshot with tickets or survey responses on or before the snapshot's
-- as-of date: support burden over 90 days, satisfaction over 365 days and the latest NPS answer.
with

snapshots as (

    select
        snapshot,
        as_of_date,
        cast({{ dbt.dateadd('day', -90, 'as_of_date') }} as date) as date_90d_ago,
        cast({{ dbt.dateadd('day', -365, 'as_of_date') }} as date) as date_365d_ago
    from {{ ref('attribute_snapshot_dates') }}

),

-- Each ticket and response once per snapshot that can see it.
tickets as (

    select
        snapshots.snapshot,
        fct_support_tickets.*
    from {{ ref('fct_support_tickets') }} as fct_support_tickets
    inner join snapshots on fct_support_tickets.created_date <= snapshots.as_of_date
    where fct_support_tickets.customer_key is not null

),

responses as (

    select
        snapshots.snapshot,
        fct_survey_responses.*
    from {{ ref('fct_survey_responses') }} as fct_survey_responses
    inner join snapshots on fct_survey_responses.submitted_date <= snapshots.as_of_date
    where fct_survey_responses.customer_key is not null

),

-- Resolution and satisfaction are known only once the ticket is resolved, so both need
-- resolved_at on or before the as-of date.
ticket_rollup as (

    select
        tickets.customer_key,
        tickets.snapshot,
        sum(case when tickets.created_date > snapshots.date_90d_ago then 1 else 0 end) as tickets_90d,
        sum(case
            when tickets.created_date > snapshots.date_90d_ago and tickets.is_high_priority then 1 else 0
        end) as high_priority_tickets_90d,
        avg(case
            when
                tickets.created_date > snapshots.date_90d_ago
                and cast(tickets.resolved_at as date) <= snapshots.as_of_date
                then tickets.resolution_hours
        end) as avg_resolution_hours_90d,
        avg(case
            when
                tickets.created_date > snapshots.date_365d_ago
                and cast(tickets.resolved_at as date) <= snapshots.as_of_date
                then tickets.satisfaction_score
        end) as support_csat_avg_365d
    from tickets
    inner join snapshots on tickets.snapshot = snapshots.snapshot
    group by tickets.customer_key, tickets.snapshot

),

nps as (

    select
        responses.customer_key,
        responses.snapshot,
        responses.score,
        responses.submitted_date,
        row_number() over (
            partition by responses.customer_key, responses.snapshot
            order by responses.submitted_at desc, responses.response_id desc
        ) as recency_rank
    from responses
    where responses.survey_type = 'nps'

),

nps_rollup as (

    select
        nps.customer_key,
        nps.snapshot,
        max(case when nps.recency_rank = 1 then nps.score end) as nps_latest,
        avg(case when nps.submitted_date > snapshots.date_365d_ago then nps.score end) as nps_avg_365d
    from nps
    inner join snapshots on nps.snapshot = snapshots.snapshot
    group by nps.customer_key, nps.snapshot

),

customers as (

    select
        customer_key,
        snapshot
    from ticket_rollup
    union
    select
        customer_key,
        snapshot
    from nps_rollup

)

select
    customers.customer_key,
    customers.snapshot,
    snapshots.as_of_date,
    coalesce(ticket_rollup.tickets_90d, 0) as tickets_90d,
    coalesce(ticket_rollup.high_priority_tickets_90d, 0) as high_priority_tickets_90d,
    ticket_rollup.avg_resolution_hours_90d,
    ticket_rollup.support_csat_avg_365d,
    nps_rollup.nps_latest,
    nps_rollup.nps_avg_365d
from customers
inner join snapshots on customers.snapshot = snapshots.snapshot
left join ticket_rollup
    on customers.customer_key = ticket_rollup.customer_key and customers.snapshot = ticket_rollup.snapshot
left join nps_rollup
    on customers.customer_key = nps_rollup.customer_key and customers.snapshot = nps_rollup.snapshot

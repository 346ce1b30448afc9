-- One row per customer: what happened in the outcome window (validation_date, outcome_end_date],
-- after the validation snapshot (customer_attributes_validation) and up to the scoring date.
-- Used only to validate segments, never as a feature: nothing here is known on the validation
-- date; reference_date is the validation date. Retention outcomes are null for customers they do
-- not apply to (churn needs MRR on the validation date, conversion needs none).
{% set expansion_factor = 1.1 %}

with

reference as (

    select
        validation_date as reference_date,
        outcome_end_date
    from {{ ref('reference_period') }}

),

customers as (

    select customer_key from {{ ref('dim_customers') }}

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

mrr as (

    select
        subscriptions.customer_key,
        sum(case
            when
                {{ is_active_on('subscriptions.started_date', 'subscriptions.ended_date', 'reference.reference_date') }}
                then subscriptions.mrr
            else 0
        end) as mrr_at_reference,
        sum(case
            when
                {{ is_active_on(
                    'subscriptions.started_date', 'subscriptions.ended_date', 'reference.outcome_end_date'
                ) }}
                then subscriptions.mrr
            else 0
        end) as mrr_at_window_end,
        -- paid MRR at any point in the window (a conversion that churned again still converted)
        sum(case
            when
                subscriptions.started_date <= reference.outcome_end_date
                and subscriptions.started_date > reference.reference_date
                then subscriptions.mrr
            else 0
        end) as new_mrr_in_window
    from subscriptions
    cross join reference
    group by subscriptions.customer_key

),

revenue as (

    select
        invoices.customer_key,
        sum(invoices.amount) as revenue_after
    from {{ ref('fct_invoices') }} as invoices
    cross join reference
    where
        invoices.issued_date > reference.reference_date
        and invoices.issued_date <= reference.outcome_end_date
        and (invoices.status is null or invoices.status <> 'void')
    group by invoices.customer_key

),

joined as (

    select
        customers.customer_key,
        reference.reference_date,
        reference.outcome_end_date,
        coalesce(mrr.mrr_at_reference, 0) as mrr_at_reference,
        coalesce(mrr.mrr_at_window_end, 0) as mrr_at_window_end,
        coalesce(mrr.new_mrr_in_window, 0) as new_mrr_in_window,
        coalesce(revenue.revenue_after, 0) as revenue_after
    from customers
    cross join reference
    left join mrr on customers.customer_key = mrr.customer_key
    left join revenue on customers.customer_key = revenue.customer_key

)

select
    customer_key,
    reference_date,
    outcome_end_date,
    mrr_at_reference,
    mrr_at_window_end,
    mrr_at_window_end - mrr_at_reference as mrr_change,
    revenue_after,
    mrr_at_reference > 0 as paying_at_reference,
    case when mrr_at_reference > 0 then mrr_at_window_end = 0 end as churned,
    case when mrr_at_reference > 0 then mrr_at_window_end > 0 end as retained,
    case when mrr_at_reference > 0 then mrr_at_window_end > mrr_at_reference * {{ expansion_factor }} end
        as expanded,
    case when mrr_at_reference = 0 then new_mrr_in_window > 0 or mrr_at_window_end > 0 end as converted
from joined

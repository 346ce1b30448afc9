-- One row per customer per calendar month in which it had at least one subscription active:
-- MRR summed over the subscriptions active at any point in the month.
with

subscriptions as (

    select * from {{ ref('int_subscriptions_attributed') }}
    where customer_key is not null

),

customer_subscriptions as (

    select
        subscriptions.customer_key,
        subscriptions.subscription_id,
        subscriptions.mrr,
        cast({{ dbt.date_trunc('month', 'subscriptions.started_at') }} as date) as start_month,
        cast({{ dbt.date_trunc('month', 'subscriptions.ended_at') }} as date) as end_month,
        subscriptions.ended_date
    from subscriptions

),

bounds as (

    select
        min(start_month) as first_month,
        max(coalesce(end_month, start_month)) as last_subscription_month
    from customer_subscriptions

),

latest as (

    select cast({{ dbt.date_trunc('month', 'latest_activity_date') }} as date) as latest_month
    from {{ ref('reference_period') }}

),

-- Month spine: up to 50 years of months from the first subscription start.
months as (

    select cast({{ dbt.dateadd('month', 'series.generated_number - 1', 'bounds.first_month') }} as date) as month_start
    from ({{ dbt.generate_series(600) }}) as series
    cross join bounds
    cross join latest
    where
        {{ dbt.dateadd('month', 'series.generated_number - 1', 'bounds.first_month') }}
        <= case
            when latest.latest_month > bounds.last_subscription_month then latest.latest_month
            else bounds.last_subscription_month
        end

),

-- A subscription counts in a month when it started by the month's end and had not ended
-- before the month started (a subscription that ends mid-month counts in that month): active on
-- the month's first day, counting its start month as started.
active as (

    select
        customer_subscriptions.customer_key,
        months.month_start,
        customer_subscriptions.subscription_id,
        customer_subscriptions.mrr
    from customer_subscriptions
    inner join months
        on
            {{ is_active_on(
                'customer_subscriptions.start_month', 'customer_subscriptions.ended_date', 'months.month_start'
            ) }}

)

select
    customer_key,
    month_start,
    sum(mrr) as mrr,
    count(*) as active_subscriptions
from active
group by customer_key, month_start

-- The date attributes are computed as of and the outcome window after it.
-- var reference_date wins; otherwise outcome_window_days before the latest activity in the data,
-- so the outcome window is covered by data.
{% set window_days = var('outcome_window_days') | int %}

with

activity as (

    select max(event_date) as activity_date from {{ ref('int_events_normalised') }}
    union all
    select max(cast(issued_at as date)) from {{ ref('stg_billing__invoices') }}
    union all
    select max(cast(started_at as date)) from {{ ref('stg_billing__subscriptions') }}
    union all
    select max(cast(created_at as date)) from {{ ref('stg_support__tickets') }}
    union all
    select max(cast(occurred_at as date)) from {{ ref('stg_email__events') }}
    union all
    select max(cast(submitted_at as date)) from {{ ref('stg_survey__responses') }}

),

latest as (

    -- With no dated activity at all (every source empty) the windows end today.
    select coalesce(max(activity_date), current_date) as latest_activity_date from activity

),

reference as (

    select
        {% if var('reference_date') %}
            cast('{{ var("reference_date") }}' as date) as reference_date,
        {% else %}
            cast({{ dbt.dateadd('day', -window_days, 'latest_activity_date') }} as date) as reference_date,
        {% endif %}
        latest_activity_date
    from latest

)

select
    reference_date,
    cast({{ dbt.dateadd('day', window_days, 'reference_date') }} as date) as outcome_end_date,
    {{ window_days }} as outcome_window_days,
    latest_activity_date
from reference

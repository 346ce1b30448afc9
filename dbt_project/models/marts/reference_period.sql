-- One row: the two as-of dates of the customer attributes and the outcome window between them.
--   scoring_date:    var scoring_date, else the latest activity in the data; what is published.
--   validation_date: scoring_date - outcome_window_days; attributes as of it are validated against
--                    the outcomes in (validation_date, outcome_end_date], outcome_end_date = scoring_date.
-- var reference_date is the deprecated name of the validation date (dbt_project.yml).
{% set window_days = var('outcome_window_days') | int %}
{% set scoring_var = var('scoring_date') %}
{% set validation_var = var('reference_date') %}
{% if scoring_var and validation_var %}
    {{ exceptions.raise_compiler_error(
        "Set var scoring_date or the deprecated var reference_date (the validation date), not both."
    ) }}
{% endif %}
{% if validation_var and execute %}
    {% do exceptions.warn(
        "var reference_date is deprecated: it sets the validation date (scoring date = reference_date + "
        ~ window_days ~ " days). Set scoring_date instead."
    ) %}
{% endif %}

with

activity as (

    select max(event_date) as activity_date from {{ ref('stg_product__events') }}
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

scoring as (

    select
        {% if scoring_var %}
            cast('{{ scoring_var }}' as date) as scoring_date,
        {% elif validation_var %}
            cast({{ dbt.dateadd('day', window_days, "cast('" ~ validation_var ~ "' as date)") }} as date)
                as scoring_date,
        {% else %}
            latest_activity_date as scoring_date,
        {% endif %}
        latest_activity_date
    from latest

),

dates as (

    select
        scoring_date,
        cast({{ dbt.dateadd('day', -window_days, 'scoring_date') }} as date) as validation_date,
        latest_activity_date
    from scoring

)

select
    scoring_date,
    validation_date,
    -- deprecated name of validation_date, kept for readers of the one-date period
    validation_date as reference_date,
    -- the outcome window ends on the scoring date: outcomes are observed up to the latest data
    scoring_date as outcome_end_date,
    {{ window_days }} as outcome_window_days,
    latest_activity_date
from dates

-- One row per survey response (NPS or CSAT), attributed to the respondent's customer.
with

responses as (

    select * from {{ ref('stg_survey__responses') }}

),

identity as (

    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'email' and customer_key is not null

)

select
    responses.response_id,
    identity.customer_key,
    responses.email,
    responses.survey_type,
    responses.score,
    responses.submitted_at,
    cast(responses.submitted_at as date) as submitted_date
from responses
left join identity on responses.email = identity.identifier

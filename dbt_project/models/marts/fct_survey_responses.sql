-- One row per survey response (NPS or CSAT), attributed to the respondent's customer.
with

responses as (

    select * from {{ ref('int_survey_responses_attributed') }}

)

select
    responses.response_id,
    responses.customer_key,
    responses.email,
    responses.survey_type,
    responses.score,
    responses.submitted_at,
    cast(responses.submitted_at as date) as submitted_date
from responses

-- One row per survey response (stg_survey__responses), with the customer its respondent email
-- resolves to in the identity graph (null when it resolves to none). The one place this source is
-- attributed to customers.
with

responses as (

    select * from {{ ref('stg_survey__responses') }}

),

identity as (

    {{ resolved_identifiers('email') }}

),

attributed as (

    select
        identity.customer_key,
        responses.*
    from responses
    left join identity on responses.email = identity.identifier

)

select * from attributed

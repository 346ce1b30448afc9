with

source as (

    select * from {{ source('survey', 'survey_responses') }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('response_id'),
        order_by=latest_load_order()
    ) }}

),

normalised as (

    select
        *,
        {{ normalise_email('respondent_email') }} as email_normalised,
        {{ clean_label('survey_type') }} as survey_type_normalised
    from deduplicated

),

renamed as (

    select
        {{ clean_id('response_id') }} as response_id,
        respondent_email,
        email_normalised as email,
        {{ email_domain('email_normalised') }} as email_domain,
        {{ is_valid_email('email_normalised') }} as is_valid_email,
        survey_type_normalised as survey_type,
        cast(score as {{ dbt.type_float() }}) as score,
        -- valid rows whose score is off the survey's scale (NPS 0-10, CSAT 1-5) are kept but flagged
        case
            when survey_type_normalised = 'nps' then score between 0 and 10
            when survey_type_normalised = 'csat' then score between 1 and 5
            else false
        end as is_score_in_range,
        {{ to_utc_timestamp('submitted_at') }} as submitted_at,
        nullif(trim(comment), '') as comment,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from normalised

)

select * from renamed

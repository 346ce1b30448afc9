with

source as (

    select * from {{ source('crm', 'crm_account_attributes') }}

),

-- one row per account, attribute and update (its history: the validation snapshot needs the
-- value as of its date); a redelivery of the same update counts once, the latest load wins
deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('account_id') ~ ', ' ~ canonical_label('attribute') ~ ', ' ~ to_utc_timestamp('updated_at'),
        order_by=latest_load_order()
    ) }}

),

renamed as (

    select
        {{ surrogate_key([clean_id('account_id'), canonical_label('attribute'), to_utc_timestamp('updated_at')]) }}
            as account_attribute_id,
        {{ clean_id('account_id') }} as account_id,
        {{ canonical_label('attribute') }} as attribute,
        nullif(trim(value), '') as value,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed

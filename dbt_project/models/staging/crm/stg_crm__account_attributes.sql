with

source as (

    select * from {{ source('crm', 'crm_account_attributes') }}

),

deduplicated as (

    -- one value per account and attribute: the latest update wins
    {{ deduplicate(
        'source',
        partition_by=clean_id('account_id') ~ ', ' ~ clean_label('attribute'),
        order_by='updated_at desc nulls last, ' ~ latest_load_order()
    ) }}

),

renamed as (

    select
        {{ surrogate_key([clean_id('account_id'), clean_label('attribute')]) }} as account_attribute_id,
        {{ clean_id('account_id') }} as account_id,
        {{ clean_label('attribute') }} as attribute,
        nullif(trim(value), '') as value,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed

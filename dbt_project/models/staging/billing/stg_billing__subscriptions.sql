with

source as (

    select * from {{ source('billing', 'billing_subscriptions') }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('subscription_id'),
        order_by=latest_load_order()
    ) }}

),

renamed as (

    select
        {{ clean_id('subscription_id') }} as subscription_id,
        {{ clean_id('billing_customer_id') }} as billing_customer_id,
        {{ clean_label('plan') }} as plan,
        cast(mrr as {{ dbt.type_float() }}) as mrr,
        upper(nullif(trim(currency), '')) as currency,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('ended_at') }} as ended_at,
        {{ clean_label('status') }} as status,
        -- valid but unusable for MRR over time: ends before it starts
        coalesce({{ to_utc_timestamp('ended_at') }} < {{ to_utc_timestamp('started_at') }}, false)
            as has_invalid_period,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed

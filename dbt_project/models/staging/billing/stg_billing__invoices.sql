{{
    config(
        materialized='incremental',
        unique_key='invoice_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ reset_tested_through() }}"
    )
}}

-- Incremental (macros/incremental.sql): only raw rows loaded since the last run are read; the latest
-- delivery wins, so a new delivery of an invoice replaces the kept row (delete+insert on invoice_id).

with

source as (

    select * from {{ source('billing', 'billing_invoices') }}
    {{ loaded_after_watermark() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by=clean_id('invoice_id'),
        order_by=latest_load_order()
    ) }}

),

renamed as (

    select
        {{ clean_id('invoice_id') }} as invoice_id,
        {{ clean_id('billing_customer_id') }} as billing_customer_id,
        cast(amount as {{ dbt.type_float() }}) as amount,
        upper(nullif(trim(currency), '')) as currency,
        {{ to_utc_timestamp('issued_at') }} as issued_at,
        {{ to_utc_timestamp('paid_at') }} as paid_at,
        {{ clean_label('status') }} as status,
        -- credit notes and refunds are valid rows but not revenue
        coalesce(amount < 0, false) as is_credit,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from deduplicated

)

select * from renamed

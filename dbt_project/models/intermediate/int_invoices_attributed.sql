-- One row per invoice (stg_billing__invoices), with the customer its billing customer resolves to
-- in the identity graph (null when it resolves to none). The one place this source is attributed to
-- customers.
with

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

identity as (

    {{ resolved_identifiers('billing_customer') }}

),

attributed as (

    select
        identity.customer_key,
        invoices.*
    from invoices
    left join identity on invoices.billing_customer_id = identity.identifier

)

select * from attributed

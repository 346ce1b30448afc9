-- One row per billing customer (stg_billing__customers), with the customer the billing customer
-- resolves to in the identity graph (null when it resolves to none). The one place this source is
-- attributed to customers.
with

billing_customers as (

    select * from {{ ref('stg_billing__customers') }}

),

identity as (

    {{ resolved_identifiers('billing_customer') }}

),

attributed as (

    select
        identity.customer_key,
        billing_customers.*
    from billing_customers
    left join identity on billing_customers.billing_customer_id = identity.identifier

)

select * from attributed

-- One row per invoice, attributed to its customer.
with

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

identity as (

    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'billing_customer' and customer_key is not null

)

select
    invoices.invoice_id,
    identity.customer_key,
    invoices.billing_customer_id,
    invoices.amount,
    invoices.currency,
    invoices.status,
    invoices.issued_at,
    invoices.paid_at,
    cast(invoices.issued_at as date) as issued_date,
    case
        when invoices.paid_at is not null
            then {{ dbt.datediff('cast(invoices.issued_at as date)', 'cast(invoices.paid_at as date)', 'day') }}
    end as days_to_pay
from invoices
left join identity on invoices.billing_customer_id = identity.identifier

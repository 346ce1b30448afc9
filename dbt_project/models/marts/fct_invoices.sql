-- One row per invoice, attributed to its customer.
with

invoices as (

    select * from {{ ref('int_invoices_attributed') }}

)

select
    invoices.invoice_id,
    invoices.customer_key,
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

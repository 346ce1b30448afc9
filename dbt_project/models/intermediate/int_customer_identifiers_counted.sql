-- One row per customer: how many CRM contacts, product users and CRM account records resolve to it.
with

identity as (

    select * from {{ ref('int_identity_resolved') }}
    where customer_key is not null

)

select
    customer_key,
    sum(case when identifier_type = 'crm_contact' then 1 else 0 end) as contact_count,
    sum(case when identifier_type = 'product_user' then 1 else 0 end) as product_user_count,
    sum(case when identifier_type = 'crm_account' then 1 else 0 end) as crm_account_count
from identity
group by customer_key

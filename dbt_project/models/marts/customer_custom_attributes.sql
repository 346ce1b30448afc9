-- One row per customer per custom CRM attribute (long format). When several of a customer's
-- CRM accounts carry the same attribute, the most recently updated value wins.
with

account_attributes as (

    select * from {{ ref('int_account_attributes_attributed') }}
    where customer_key is not null

),

attributes as (

    select
        account_attributes.customer_key,
        account_attributes.attribute,
        account_attributes.value,
        account_attributes.updated_at,
        account_attributes.account_id,
        row_number() over (
            partition by account_attributes.customer_key, account_attributes.attribute
            order by account_attributes.updated_at desc, account_attributes.account_id asc
        ) as value_rank
    from account_attributes

)

select
    customer_key,
    attribute,
    value,
    updated_at,
    account_id as source_account_id
from attributes
where value_rank = 1

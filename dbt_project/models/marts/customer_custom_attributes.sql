-- One row per customer per custom CRM attribute (long format). When several of a customer's
-- CRM accounts carry the same attribute, the most recently updated value wins.
with

identity as (

    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'crm_account' and customer_key is not null

),

attributes as (

    select
        identity.customer_key,
        account_attributes.attribute,
        account_attributes.value,
        account_attributes.updated_at,
        account_attributes.account_id,
        row_number() over (
            partition by identity.customer_key, account_attributes.attribute
            order by account_attributes.updated_at desc, account_attributes.account_id asc
        ) as value_rank
    from {{ ref('stg_crm__account_attributes') }} as account_attributes
    inner join identity on account_attributes.account_id = identity.identifier

)

select
    customer_key,
    attribute,
    value,
    updated_at,
    account_id as source_account_id
from attributes
where value_rank = 1

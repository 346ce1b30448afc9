-- One row per CRM account per custom attribute and update (stg_crm__account_attributes), with the customer its
-- CRM account resolves to in the identity graph (null when it resolves to none). The one place this
-- source is attributed to customers.
with

account_attributes as (

    select * from {{ ref('stg_crm__account_attributes') }}

),

identity as (

    {{ resolved_identifiers('crm_account') }}

),

attributed as (

    select
        identity.customer_key,
        account_attributes.*
    from account_attributes
    left join identity on account_attributes.account_id = identity.identifier

)

select * from attributed

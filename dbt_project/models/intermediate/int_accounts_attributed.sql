-- One row per CRM account (stg_crm__accounts), with the customer the account itself resolves to in
-- the identity graph (null when it resolves to none). The one place this source is attributed to
-- customers.
with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

identity as (

    {{ resolved_identifiers('crm_account') }}

),

attributed as (

    select
        identity.customer_key,
        accounts.*
    from accounts
    left join identity on accounts.account_id = identity.identifier

)

select * from attributed

-- One row per CRM contact (stg_crm__contacts), with the customer the contact resolves to in the
-- identity graph (null when it resolves to none). The one place this source is attributed to
-- customers.
with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

identity as (

    {{ resolved_identifiers('crm_contact') }}

),

attributed as (

    select
        identity.customer_key,
        contacts.*
    from contacts
    left join identity on contacts.contact_id = identity.identifier

)

select * from attributed

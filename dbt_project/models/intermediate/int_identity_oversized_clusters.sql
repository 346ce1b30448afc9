with

resolved as (

    select * from {{ ref('int_identity_resolved') }}
    where customer_key is not null

),

cluster_sizes as (

    select
        customer_key,
        customer_type,
        anchor_type,
        anchor_id,
        count(*) as identifier_count,
        sum(case when identifier_type = 'crm_account' then 1 else 0 end) as crm_account_count,
        sum(case when identifier_type = 'billing_customer' then 1 else 0 end) as billing_customer_count,
        sum(case when identifier_type = 'crm_contact' then 1 else 0 end) as crm_contact_count,
        sum(case when identifier_type = 'product_user' then 1 else 0 end) as product_user_count,
        sum(case when identifier_type = 'email' then 1 else 0 end) as email_count
    from resolved
    group by customer_key, customer_type, anchor_type, anchor_id

),

oversized as (

    select *
    from cluster_sizes
    where identifier_count > {{ var('max_identifiers_per_customer') }}

)

select * from oversized

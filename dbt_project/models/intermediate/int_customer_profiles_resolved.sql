-- One row per customer_key: the identifiers destinations sync on, the anchor account's
-- firmographics (falling back to the customer's other accounts), the sector and the creation time.
with

-- Identifiers that resolve to no customer (e.g. a product user with an unknown email) are left out.
identity as (

    select * from {{ ref('int_identity_resolved') }}
    where customer_key is not null

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

customer_accounts as (

    select * from {{ ref('int_accounts_attributed') }}
    where customer_key is not null

),

billing_customers as (

    select * from {{ ref('int_billing_customers_attributed') }}
    where customer_key is not null

),

industries as (

    select * from {{ ref('industry_hierarchy') }}

),

customers as (

    select distinct
        customer_key,
        customer_type,
        anchor_type,
        anchor_id,
        -- the anchor as a join key of its own: a constant test on this (preserved) side of the left
        -- join below made DuckDB compare every customer with every account (100,000 accounts: 32 s -> 1 s)
        case when anchor_type = 'crm_account' then anchor_id end as anchor_account_id
    from identity

),

-- Fallback firmographics when the anchor account leaves a field empty (duplicate CRM records).
account_rollup as (

    select
        customer_key,
        min(created_at) as first_account_created_at,
        max(website_domain) as any_website_domain,
        max(industry) as any_industry,
        max(employee_count) as any_employee_count,
        max(country) as any_country
    from customer_accounts
    group by customer_key

),

customer_billing as (

    select
        billing_customers.*,
        row_number() over (
            partition by billing_customers.customer_key
            order by billing_customers.created_at, billing_customers.billing_customer_id
        ) as billing_rank
    from billing_customers

),

billing_rollup as (

    select
        customer_key,
        min(created_at) as first_billing_created_at
    from customer_billing
    group by customer_key

),

final as (

    select
        customers.customer_key,
        customers.customer_type,
        anchor_account.account_id as crm_account_id,
        first_billing.billing_customer_id,
        coalesce(anchor_account.account_name, first_billing.company_name) as customer_name,
        coalesce(anchor_account.website_domain, account_rollup.any_website_domain) as website_domain,
        coalesce(anchor_account.industry, account_rollup.any_industry) as industry,
        industries.sector,
        coalesce(anchor_account.employee_count, account_rollup.any_employee_count) as employee_count,
        coalesce(anchor_account.country, account_rollup.any_country) as country,
        case
            when parent_identity.customer_key <> customers.customer_key then parent_identity.customer_key
        end as parent_customer_key,
        case
            when account_rollup.first_account_created_at is null then billing_rollup.first_billing_created_at
            when billing_rollup.first_billing_created_at is null then account_rollup.first_account_created_at
            when account_rollup.first_account_created_at < billing_rollup.first_billing_created_at
                then account_rollup.first_account_created_at
            else billing_rollup.first_billing_created_at
        end as created_at
    from customers
    left join accounts as anchor_account
        on customers.anchor_account_id = anchor_account.account_id
    left join account_rollup on customers.customer_key = account_rollup.customer_key
    left join customer_billing as first_billing
        on customers.customer_key = first_billing.customer_key and first_billing.billing_rank = 1
    left join billing_rollup on customers.customer_key = billing_rollup.customer_key
    left join identity as parent_identity
        on
            parent_identity.identifier_type = 'crm_account'
            and anchor_account.parent_account_id = parent_identity.identifier
    left join industries
        on lower(coalesce(anchor_account.industry, account_rollup.any_industry)) = lower(industries.industry)

)

select * from final

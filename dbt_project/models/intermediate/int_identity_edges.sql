with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

billing_customers as (

    select * from {{ ref('stg_billing__customers') }}

),

product_users as (

    select * from {{ ref('stg_product__users') }}

),

emails as (

    select * from {{ ref('int_identity_emails') }}

),

domain_accounts as (

    select
        account_id,
        website_domain,
        parent_account_id,
        count(*) over (partition by website_domain) as accounts_on_domain,
        row_number() over (partition by website_domain order by created_at, account_id) as domain_rank
    from accounts
    where
        website_domain is not null
        and not is_personal_website_domain

),

-- a parent and its subsidiary sharing a website are different customers: the domain is ambiguous
domains_with_hierarchy as (

    select distinct child.website_domain
    from domain_accounts as child
    inner join domain_accounts as parent
        on
            child.website_domain = parent.website_domain
            and child.parent_account_id = parent.account_id

),

-- the one canonical (oldest) account owning each unambiguous company domain
domain_owners as (

    select
        domain_accounts.website_domain,
        domain_accounts.account_id as canonical_account_id
    from domain_accounts
    left join domains_with_hierarchy
        on domain_accounts.website_domain = domains_with_hierarchy.website_domain
    where
        domain_accounts.domain_rank = 1
        and domain_accounts.accounts_on_domain <= {{ var('max_accounts_per_domain') }}
        and domains_with_hierarchy.website_domain is null

),

contact_account as (

    select
        'crm_contact' as left_type,
        contacts.contact_id as left_id,
        'crm_account' as right_type,
        accounts.account_id as right_id,
        'contact_account' as rule
    from contacts
    inner join accounts
        on contacts.account_id = accounts.account_id

),

billing_crm_account as (

    select
        'billing_customer' as left_type,
        billing_customers.billing_customer_id as left_id,
        'crm_account' as right_type,
        accounts.account_id as right_id,
        'billing_crm_account' as rule
    from billing_customers
    inner join accounts
        on billing_customers.crm_account_id = accounts.account_id

),

contact_email as (

    select
        'crm_contact' as left_type,
        contacts.contact_id as left_id,
        'email' as right_type,
        emails.email as right_id,
        'contact_email' as rule
    from contacts
    inner join emails
        on contacts.email = emails.email
    where
        contacts.is_valid_email
        and emails.links_owners

),

billing_email as (

    select
        'billing_customer' as left_type,
        billing_customers.billing_customer_id as left_id,
        'email' as right_type,
        emails.email as right_id,
        'billing_email' as rule
    from billing_customers
    inner join emails
        on billing_customers.email = emails.email
    where
        billing_customers.is_valid_email
        and emails.links_owners

),

product_user_email as (

    select
        'product_user' as left_type,
        product_users.user_id as left_id,
        'email' as right_type,
        emails.email as right_id,
        'product_user_email' as rule
    from product_users
    inner join emails
        on product_users.email = emails.email
    where
        product_users.is_valid_email
        and emails.links_owners

),

account_same_domain as (

    select
        'crm_account' as left_type,
        domain_accounts.account_id as left_id,
        'crm_account' as right_type,
        domain_owners.canonical_account_id as right_id,
        'account_same_domain' as rule
    from domain_accounts
    inner join domain_owners
        on domain_accounts.website_domain = domain_owners.website_domain
    where domain_accounts.account_id <> domain_owners.canonical_account_id

),

email_domain_account as (

    select
        'email' as left_type,
        emails.email as left_id,
        'crm_account' as right_type,
        domain_owners.canonical_account_id as right_id,
        'email_domain_account' as rule
    from emails
    inner join domain_owners
        on emails.email_domain = domain_owners.website_domain
    where not emails.is_personal_email_domain

),

edges as (

    select * from contact_account
    union all
    select * from billing_crm_account
    union all
    select * from contact_email
    union all
    select * from billing_email
    union all
    select * from product_user_email
    union all
    select * from account_same_domain
    union all
    select * from email_domain_account

)

select * from edges

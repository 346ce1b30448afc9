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

edges as (

    select * from {{ ref('int_identity_edges') }}

),

-- every identifier; anchor_priority 0 = CRM account, 1 = billing customer, 2 = never an anchor
nodes as (

    select
        'crm_account' as identifier_type,
        account_id as identifier,
        0 as anchor_priority,
        created_at as anchor_created_at
    from accounts

    union all

    select
        'billing_customer' as identifier_type,
        billing_customer_id as identifier,
        1 as anchor_priority,
        created_at as anchor_created_at
    from billing_customers

    union all

    select
        'crm_contact' as identifier_type,
        contact_id as identifier,
        2 as anchor_priority,
        cast(null as {{ dbt.type_timestamp() }}) as anchor_created_at
    from contacts

    union all

    select
        'product_user' as identifier_type,
        user_id as identifier,
        2 as anchor_priority,
        cast(null as {{ dbt.type_timestamp() }}) as anchor_created_at
    from product_users

    union all

    select
        'email' as identifier_type,
        email as identifier,
        2 as anchor_priority,
        cast(null as {{ dbt.type_timestamp() }}) as anchor_created_at
    from emails

),

-- integer ids ordered so that the smallest id in a component is its anchor:
-- the oldest CRM account, else the oldest billing customer (ties broken by id)
ranked_nodes as (

    select
        identifier_type,
        identifier,
        anchor_priority,
        row_number() over (
            order by anchor_priority, anchor_created_at nulls last, identifier_type, identifier
        ) as node_id
    from nodes

),

edge_nodes as (

    select
        left_nodes.node_id as left_node_id,
        right_nodes.node_id as right_node_id
    from edges
    inner join ranked_nodes as left_nodes
        on
            edges.left_type = left_nodes.identifier_type
            and edges.left_id = left_nodes.identifier
    inner join ranked_nodes as right_nodes
        on
            edges.right_type = right_nodes.identifier_type
            and edges.right_id = right_nodes.identifier

),

{{ connected_components('ranked_nodes', 'edge_nodes', var('identity_iterations')) }},

resolved as (

    select
        ranked_nodes.identifier_type,
        ranked_nodes.identifier,
        case
            when anchors.anchor_priority < 2
                then {{ customer_key('anchors.identifier_type', 'anchors.identifier') }}
        end as customer_key,
        case anchors.anchor_priority
            when 0 then 'account'
            when 1 then 'billing_customer'
        end as customer_type,
        case when anchors.anchor_priority < 2 then anchors.identifier_type end as anchor_type,
        case when anchors.anchor_priority < 2 then anchors.identifier end as anchor_id

    from ranked_nodes
    inner join cc_labels
        on ranked_nodes.node_id = cc_labels.node_id
    inner join ranked_nodes as anchors
        on cc_labels.component_id = anchors.node_id

)

select * from resolved

-- One row per support ticket, attributed to the requester's customer.
with

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

identity as (

    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = 'email' and customer_key is not null

)

select
    tickets.ticket_id,
    identity.customer_key,
    tickets.email,
    tickets.created_at,
    tickets.resolved_at,
    cast(tickets.created_at as date) as created_date,
    tickets.priority,
    tickets.category,
    tickets.satisfaction_score,
    coalesce(tickets.priority in ('high', 'urgent'), false) as is_high_priority,
    case
        when tickets.resolved_at is not null
            then {{ dbt.datediff('tickets.created_at', 'tickets.resolved_at', 'minute') }} / 60.0  -- noqa: LT05
    end as resolution_hours
from tickets
left join identity on tickets.email = identity.identifier

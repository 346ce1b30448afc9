-- One row per support ticket, attributed to the requester's customer.
with

tickets as (

    select * from {{ ref('int_support_tickets_attributed') }}

)

select
    tickets.ticket_id,
    tickets.customer_key,
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

-- Every CRM account and billing customer gets a customer_key (they anchor themselves when
-- nothing links them), and the anchor of a customer resolves to that same customer.
with

resolved as (

    select * from {{ ref('int_identity_resolved') }}

)

select resolved.identifier_type, resolved.identifier, resolved.customer_key
from resolved
left join resolved as anchors
    on resolved.anchor_type = anchors.identifier_type
    and resolved.anchor_id = anchors.identifier
where (
        resolved.identifier_type in ('crm_account', 'billing_customer')
        and resolved.customer_key is null
    )
    or (
        resolved.customer_key is not null
        and coalesce(anchors.customer_key, '') <> resolved.customer_key
    )

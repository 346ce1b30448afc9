-- Both ends of every identity edge resolve to the same customer. A failure means the
-- fixed number of label-propagation rounds (var identity_iterations) was too small for the graph.
-- Two models are referenced; the check belongs to the resolution it verifies (dagster-dbt
-- attaches a singular test to one asset only when told which).
{{ config(meta={'dagster': {'ref': {'name': 'int_identity_resolved'}}}) }}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

resolved as (

    select * from {{ ref('int_identity_resolved') }}

)

select
    edges.left_type,
    edges.left_id,
    edges.right_type,
    edges.right_id,
    edges.rule,
    left_resolved.customer_key as left_customer_key,
    right_resolved.customer_key as right_customer_key
from edges
inner join resolved as left_resolved
    on edges.left_type = left_resolved.identifier_type
    and edges.left_id = left_resolved.identifier
inner join resolved as right_resolved
    on edges.right_type = right_resolved.identifier_type
    and edges.right_id = right_resolved.identifier
where coalesce(left_resolved.customer_key, '') <> coalesce(right_resolved.customer_key, '')

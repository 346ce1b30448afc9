{#- Readable, deterministic customer key: a hash of the anchor identifier, so the key only
    changes when the anchor does (components merging), never because other rows were added. -#}
{% macro customer_key(anchor_type, anchor_id) -%}
    {%- set digest = dbt.hash(dbt.concat([anchor_type, "':'", anchor_id])) -%}
    {{ dbt.concat(["'cus_'", "substring(" ~ digest ~ ", 1, 16)"]) }}
{%- endmacro %}

{#- Connected components by min-label propagation, unrolled into a fixed number of rounds so it
    stays plain portable SQL (no recursive CTE with aggregates).
    nodes: relation/CTE with node_id (integer, lowest = preferred anchor);
    edges: relation/CTE with left_node_id, right_node_id (undirected).
    Emits CTEs; the last one, `cc_labels`, has node_id and component_id (the smallest node_id
    reachable within `iterations` hops). The singular test assert_identity_components_converged
    fails when `iterations` was too few for the graph. -#}
{% macro connected_components(nodes, edges, iterations) -%}
{#- Each node is its own neighbour, so one join per round keeps every node and its label;
    every round reads the previous round exactly once (no exponential CTE expansion). -#}
cc_neighbours as (
    select left_node_id as node_id, right_node_id as neighbour_id from {{ edges }}
    union all
    select right_node_id as node_id, left_node_id as neighbour_id from {{ edges }}
    union all
    select node_id, node_id as neighbour_id from {{ nodes }}
),

cc_labels_0 as (
    select node_id, node_id as component_id from {{ nodes }}
),
{% for i in range(1, iterations + 1) %}
cc_labels_{{ i }} as (
    select
        neighbours.node_id,
        min(previous.component_id) as component_id
    from cc_neighbours as neighbours
    inner join cc_labels_{{ i - 1 }} as previous
        on neighbours.neighbour_id = previous.node_id
    group by neighbours.node_id
),
{% endfor %}
cc_labels as (
    select node_id, component_id from cc_labels_{{ iterations }}
)
{%- endmacro %}

{#- identifier -> customer_key for one identifier type, from the resolved identity graph: the
    import every int_<entity>_attributed model joins its source to (identifiers that resolve to
    no customer are left out, so the join leaves their rows' customer_key null). -#}
{% macro resolved_identifiers(identifier_type) -%}
    select
        identifier,
        customer_key
    from {{ ref('int_identity_resolved') }}
    where identifier_type = '{{ identifier_type }}' and customer_key is not null
{%- endmacro %}

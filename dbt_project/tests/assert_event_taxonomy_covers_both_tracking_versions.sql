-- Every canonical event is reachable from each tracking version's raw name (v1 snake_case and
-- v2 Title Case), so the tracking cutover cannot change a canonical event's volume.
with

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

versions as (

    select distinct tracking_version from taxonomy

),

canonical_events as (

    select distinct canonical_event from taxonomy

),

expected as (

    select canonical_events.canonical_event, versions.tracking_version
    from canonical_events
    cross join versions

)

select expected.canonical_event, expected.tracking_version
from expected
left join taxonomy
    on expected.canonical_event = taxonomy.canonical_event
    and expected.tracking_version = taxonomy.tracking_version
where taxonomy.canonical_event is null

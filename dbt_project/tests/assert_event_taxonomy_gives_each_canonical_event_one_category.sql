-- A canonical event belongs to one behaviour category whatever tracking version or file names
-- it: two categories would split its volume between families. Tracking-version labels are free
-- (a version may rename only some events), so no version is expected to cover every event.
select
    canonical_event,
    count(distinct event_category) as categories,
    {{ dbt.listagg('distinct event_category', "', '") }} as category_list
from {{ ref('int_event_taxonomy') }}
group by canonical_event
having count(distinct event_category) > 1

{{
    config(
        materialized='incremental',
        unique_key=['customer_key', 'event_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "delete from {{ this }} where events = 0",
            "{{ record_product_usage_built_from() }}",
        ]
    )
}}

-- depends_on: {{ ref('int_identity_resolved') }}, {{ ref('int_event_taxonomy') }}, {{ ref('stg_product__events') }}
-- One row per customer per day with product activity: events, active users, distinct canonical events,
-- the first and last event time.
-- Incremental (macros/product_usage.sql): a daily refresh recomputes only the customer-days that new
-- events, a changed identity resolution or a changed taxonomy mapping can change, and gives the
-- rows a full build would (tests/integration/test_dbt_incremental.py). A customer-day left with no
-- events (its users now resolve elsewhere) is recomputed as 0 events and deleted by the post-hook.
{%- set incremental = is_incremental() %}
{%- if incremental and not product_usage_has_built_from() %}
    {{ exceptions.raise_compiler_error(
        this ~ " has no record of what its rows were built from (" ~ this.identifier
        ~ "__built_from: built by an earlier version, or dropped), so they cannot be updated "
        ~ "incrementally. Run one full refresh: DBT_FULL_REFRESH=1 make run, or dbt build --full-refresh."
    ) }}
{%- endif %}

with

events as (

    select * from {{ ref('int_events_attributed') }}
    where customer_key is not null

),

{%- if incremental %}

current_state as (

    {{ product_usage_current_state() }}

),

built_from as (

    select * from {{ product_usage_built_from() }}

),

-- product users and event names whose mapping is not the one the kept rows were built with
changed as (

    select
        coalesce(current_state.kind, built_from.kind) as kind,
        coalesce(current_state.key, built_from.key) as key,
        built_from.value as built_value
    from current_state
    full outer join built_from
        on current_state.kind = built_from.kind and current_state.key = built_from.key
    where coalesce(current_state.kind, built_from.kind) in ('product_user', 'event_name')
        and current_state.value is distinct from built_from.value

),

staged_events as (

    select user_id, event_date, event_name_normalised, loaded_at
    from {{ ref('stg_product__events') }}

),

-- the user-days whose events or whose events' mappings are not in the kept rows
touched_user_days as (

    select distinct user_id, event_date
    from staged_events
    where loaded_at > coalesce(
        (
            select cast(value as {{ dbt.type_timestamp() }}) from built_from
            where kind = 'events_loaded_through'
        ),
        cast('-infinity' as {{ dbt.type_timestamp() }})
    )
        or user_id in (select key from changed where kind = 'product_user')
        or event_name_normalised in (select key from changed where kind = 'event_name')

),

-- the customer-days those user-days count towards now, and the ones they counted towards
affected as (

    select distinct users.customer_key, touched_user_days.event_date
    from touched_user_days
    inner join ({{ resolved_identifiers('product_user') }}) as users
        on touched_user_days.user_id = users.identifier
    union
    select distinct changed.built_value as customer_key, touched_user_days.event_date
    from touched_user_days
    inner join changed
        on changed.kind = 'product_user' and touched_user_days.user_id = changed.key
    where changed.built_value is not null

),
{%- endif %}

-- the events of the customer-days to (re)compute: all of them on a full build
scoped_events as (

    select events.*
    from events
    {%- if incremental %}
        inner join affected
            on events.customer_key = affected.customer_key and events.event_date = affected.event_date
    {%- endif %}

),

daily as (

    select
        customer_key,
        event_date,
        count(*) as events,
        count(distinct user_id) as active_users,
        count(distinct canonical_event) as distinct_canonical_events,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from scoped_events
    group by customer_key, event_date

),

final as (

    {%- if incremental %}
        select
            affected.customer_key,
            affected.event_date,
            coalesce(daily.events, 0) as events,
            coalesce(daily.active_users, 0) as active_users,
            coalesce(daily.distinct_canonical_events, 0) as distinct_canonical_events,
            daily.first_event_at,
            daily.last_event_at
        from affected
        left join daily
            on affected.customer_key = daily.customer_key and affected.event_date = daily.event_date
    {%- else %}
        select * from daily
    {%- endif %}

)

select * from final

-- The event taxonomy in use: the project's seed plus the user's additions, one row per raw event
-- name. Additions come from event_taxonomy_additions.csv in the user's configuration folder
-- (SEGMENTATION_CONFIG_DIR); the platform passes its rows as the var event_taxonomy_additions,
-- so upgrading the project never means merging the user's rows into the seed.
{%- set additions = var('event_taxonomy_additions', []) %}
{%- set additions_file = var('event_taxonomy_additions_file', 'event_taxonomy_additions.csv') %}
{%- set columns = ['raw_event_name_normalised', 'canonical_event', 'event_category', 'tracking_version'] %}
with

project_taxonomy as (

    select
        raw_event_name_normalised as raw_event_name,
        canonical_event,
        event_category,
        tracking_version,
        'dbt_project/seeds/event_taxonomy.csv' as defined_in
    from {{ ref('event_taxonomy') }}

),

user_additions as (

    {%- if additions %}
        {%- for row in additions %}
            select
                {%- for column in columns %}
                cast('{{ row[column] | string | replace("'", "''") }}' as {{ dbt.type_string() }}) as {{ 'raw_event_name' if column == 'raw_event_name_normalised' else column }},
                {%- endfor %}
                cast('{{ additions_file | string | replace("'", "''") }}' as {{ dbt.type_string() }}) as defined_in
            {{ 'union all' if not loop.last }}
        {%- endfor %}
    {%- else %}
        select * from project_taxonomy
        where 1 = 0
    {%- endif %}

),

taxonomy as (

    select * from project_taxonomy
    union all
    select * from user_additions

)

select
    lower(trim(raw_event_name)) as raw_event_name_normalised,
    raw_event_name,
    trim(canonical_event) as canonical_event,
    trim(event_category) as event_category,
    trim(tracking_version) as tracking_version,
    defined_in
from taxonomy

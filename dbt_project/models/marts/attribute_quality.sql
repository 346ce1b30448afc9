-- One row per column of customer_attributes: completeness, validity, freshness and the quality
-- score the catalog shows. The column list comes from the built relation and each column's valid
-- range, source and update frequency from its documented meta, so this never drifts from the catalog.
--   completeness: share of customers with a non-null value
--   validity:     share of non-null values inside the documented range (meta valid_min/valid_max;
--                 columns without a range are valid when present); 0 when there are no values
--   freshness:    1 when the attribute's source has data within {{ 30 }} days before the scoring
--                 date, falling linearly to 0 at 180 days; 'on load' attributes (firmographics,
--                 identifiers) are fresh when their source has any data; derived attributes are 1
--   quality_score = 0.5 * completeness + 0.3 * validity + 0.2 * freshness
{% set fresh_days = 30 %}
{% set stale_days = 180 %}

{% set column_meta = {} %}
{% if execute %}
    {% set attributes_node = graph.nodes.values() | selectattr('name', 'equalto', 'customer_attributes') | first %}
    {% for name, column in attributes_node.columns.items() %}
        {% set meta = {} %}
        {% do meta.update(column.get('meta') or {}) %}
        {% do meta.update((column.get('config') or {}).get('meta') or {}) %}
        {% do column_meta.update({name: meta}) %}
    {% endfor %}
    {% set columns = adapter.get_columns_in_relation(ref('customer_attributes')) %}
{% else %}
    {% set columns = [] %}
{% endif %}

with

-- read by the per-column selects in measured; they render only once customer_attributes is built
attributes as (  -- noqa: ST03

    select * from {{ ref('customer_attributes') }}

),

reference as (

    -- measured on the published snapshot: customer_attributes is as of the scoring date
    select scoring_date as reference_date from {{ ref('reference_period') }}

),

-- Latest dated record per source on or before the reference date.
source_dates as (

    select
        'product' as source,
        max(events.event_date) as latest_date
    from {{ ref('stg_product__events') }} as events cross join reference
    where events.event_date <= reference.reference_date
    union all
    select
        'billing' as source,
        max(cast(invoices.issued_at as date)) as latest_date
    from {{ ref('stg_billing__invoices') }} as invoices cross join reference
    where cast(invoices.issued_at as date) <= reference.reference_date
    union all
    select
        'billing' as source,
        max(cast(subscriptions.started_at as date)) as latest_date
    from {{ ref('stg_billing__subscriptions') }} as subscriptions cross join reference
    where cast(subscriptions.started_at as date) <= reference.reference_date
    union all
    select
        'support' as source,
        max(cast(tickets.created_at as date)) as latest_date
    from {{ ref('stg_support__tickets') }} as tickets cross join reference
    where cast(tickets.created_at as date) <= reference.reference_date
    union all
    select
        'email' as source,
        max(cast(email_events.occurred_at as date)) as latest_date
    from {{ ref('stg_email__events') }} as email_events cross join reference
    where cast(email_events.occurred_at as date) <= reference.reference_date
    union all
    select
        'survey' as source,
        max(cast(responses.submitted_at as date)) as latest_date
    from {{ ref('stg_survey__responses') }} as responses cross join reference
    where cast(responses.submitted_at as date) <= reference.reference_date
    union all
    select
        'crm' as source,
        max(cast(accounts.created_at as date)) as latest_date
    from {{ ref('stg_crm__accounts') }} as accounts cross join reference
    where cast(accounts.created_at as date) <= reference.reference_date
    union all
    select
        'crm' as source,
        max(cast(billing_customers.created_at as date)) as latest_date
    from {{ ref('stg_billing__customers') }} as billing_customers cross join reference
    where cast(billing_customers.created_at as date) <= reference.reference_date

),

source_staleness as (

    select
        source_dates.source,
        min({{ dbt.datediff('source_dates.latest_date', 'reference.reference_date', 'day') }}) as days_stale
    from source_dates
    cross join reference
    where source_dates.latest_date is not null
    group by source_dates.source

),

measured as (

    {% for column in columns %}
        {%- set meta = column_meta.get(column.name, {}) %}
        {%- set conditions = [column.name ~ ' is not null'] %}
        {%- if meta.get('valid_min') is not none %}
            {%- do conditions.append(column.name ~ ' >= ' ~ meta.get('valid_min')) %}
        {%- endif %}
        {%- if meta.get('valid_max') is not none %}
            {%- do conditions.append(column.name ~ ' <= ' ~ meta.get('valid_max')) %}
        {%- endif %}
        select
            '{{ column.name }}' as attribute_name,
            '{{ meta.get("source", "derived") }}' as source,
            '{{ meta.get("update_frequency", "daily") }}' as update_frequency,
            count(*) as customers,
            count({{ column.name }}) as non_null_values,
            sum(case when {{ conditions | join(' and ') }} then 1 else 0 end) as valid_values
        from attributes
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if columns | length == 0 %}
        select
            cast(null as {{ dbt.type_string() }}) as attribute_name,
            cast(null as {{ dbt.type_string() }}) as source,
            cast(null as {{ dbt.type_string() }}) as update_frequency,
            0 as customers,
            0 as non_null_values,
            0 as valid_values
        where 1 = 0
    {% endif %}

),

scored as (

    select
        measured.attribute_name,
        measured.source,
        measured.update_frequency,
        measured.customers,
        measured.non_null_values,
        case when measured.customers > 0 then 1.0 * measured.non_null_values / measured.customers else 0.0 end
            as completeness,
        case
            when measured.non_null_values > 0 then 1.0 * measured.valid_values / measured.non_null_values
            else 0.0
        end as validity,
        case
            when measured.source = 'derived' then 1.0
            when source_staleness.days_stale is null then 0.0
            when measured.update_frequency = 'on load' then 1.0
            when source_staleness.days_stale <= {{ fresh_days }} then 1.0
            when source_staleness.days_stale >= {{ stale_days }} then 0.0
            else 1.0 - (source_staleness.days_stale - {{ fresh_days }}) / {{ (stale_days - fresh_days) * 1.0 }}
        end as freshness,
        source_staleness.days_stale as source_days_stale
    from measured
    left join source_staleness on measured.source = source_staleness.source

)

select
    attribute_name,
    source,
    update_frequency,
    customers,
    non_null_values,
    completeness,
    validity,
    freshness,
    source_days_stale,
    0.5 * completeness + 0.3 * validity + 0.2 * freshness as quality_score,
    (select reference.reference_date from reference) as reference_date
from scored

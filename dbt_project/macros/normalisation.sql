{#- Normalisation helpers shared by the staging models. Portable SQL only (dbt cross-db macros). -#}

{#- Trimmed, lower-cased email; empty strings become null. -#}
{% macro normalise_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- The part after the @ of an already normalised email. -#}
{% macro email_domain(email) -%}
    nullif({{ dbt.split_part(email, "'@'", 2) }}, '')
{%- endmacro %}

{#- The part before the @ of an already normalised email. -#}
{% macro email_local_part(email) -%}
    {{ dbt.split_part(email, "'@'", 1) }}
{%- endmacro %}

{#- Plausible address: something@something.tld, one @, no spaces. -#}
{% macro is_valid_email(email) -%}
    coalesce(
        {{ email }} like '%_@_%._%'
        and {{ email }} not like '%@%@%'
        and {{ email }} not like '% %',
        false
    )
{%- endmacro %}

{#- Shared mailboxes (info@, billing@, ...) from var('generic_inbox_local_parts'). -#}
{% macro is_generic_inbox(email) -%}
    coalesce({{ email_local_part(email) }} in (
        {%- for part in var('generic_inbox_local_parts') -%}
            '{{ part }}'{{ ", " if not loop.last }}
        {%- endfor -%}
    ), false)
{%- endmacro %}

{#- Consumer mail providers (gmail.com, ...) from var('personal_email_domains'). -#}
{% macro is_personal_email_domain(domain) -%}
    coalesce({{ domain }} in (
        {%- for d in var('personal_email_domains') -%}
            '{{ d }}'{{ ", " if not loop.last }}
        {%- endfor -%}
    ), false)
{%- endmacro %}

{#- Website or email domain to a bare host: lower, no scheme, no www., no path or port. -#}
{% macro normalise_domain(column) -%}
    {%- set no_scheme = "replace(replace(lower(trim(" ~ column ~ ")), 'https://', ''), 'http://', '')" -%}
    {%- set host = dbt.split_part(dbt.split_part(no_scheme, "'/'", 1), "':'", 1) -%}
    nullif(
        case
            when {{ host }} like 'www.%' then {{ dbt.right(host, dbt.length(host) ~ ' - 4') }}
            else {{ host }}
        end,
        ''
    )
{%- endmacro %}

{#- Trimmed text identifier; empty strings become null. -#}
{% macro clean_id(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- Lower-cased, trimmed category label; empty strings become null. -#}
{% macro clean_label(column) -%}
    nullif(lower(trim(cast({{ column }} as {{ dbt.type_string() }}))), '')
{%- endmacro %}

{#- An attribute name in its one canonical spelling, lower snake_case: runs of anything but ASCII
    letters and digits become one underscore, none at either end ("Contract Type", contract-type
    and CONTRACT_TYPE are all contract_type). The same rule as the Python
    ml_assets.governance.canonical_name, so the warehouse, the policy and the console agree. -#}
{% macro canonical_label(column) -%}
    nullif(
        regexp_replace(
            regexp_replace(lower(trim(cast({{ column }} as {{ dbt.type_string() }}))), '[^a-z0-9]+', '_', 'g'),
            '^_+|_+$', '', 'g'
        ),
        ''
    )
{%- endmacro %}

{#- A timestamp (with or without offset) as a naive UTC timestamp.
    DuckDB casts timestamptz to the session time zone, so convert explicitly there. -#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp')(column)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(column) -%}
    timezone('UTC', cast({{ column }} as timestamptz))
{%- endmacro %}

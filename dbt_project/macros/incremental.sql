{#- Incremental staging of append-only raw tables (events, email events, invoices, tickets).

    Ingestion only appends to raw.<table>, stamping each file's rows with one _loaded_at
    (the time that file was loaded, later for every later file), and never loads a file's
    content twice. So on an incremental run the rows a model has not seen yet are exactly the
    raw rows loaded after the latest loaded_at already in it: loaded_after_watermark() keeps
    those (every raw row on a full build). An empty model has no watermark: everything is new.

    Each model then keeps its full-build rule exactly (see each model): first delivery wins
    (events) -> new ids only, an id already kept is never replaced (not_already_kept());
    latest delivery wins (invoices) -> a new delivery replaces the kept row (delete+insert on
    the id); any other order (tickets) -> the ids touched are re-deduplicated over all their
    raw rows (raw_rows_of_touched_ids()).
    A change to a model's logic is not applied to rows already kept: run a full refresh. -#}

{% macro loaded_after_watermark(loaded_at_column='_loaded_at') -%}
    {%- if is_incremental() %}
    where {{ to_utc_timestamp(loaded_at_column) }} > (
        select coalesce(max(_watermark.loaded_at), cast('-infinity' as {{ dbt.type_timestamp() }}))
        from {{ this }} as _watermark
    )
    {%- endif %}
{%- endmacro %}

{#- On an incremental run, drop rows whose key the model already holds (first delivery wins). -#}
{% macro not_already_kept(relation, key) -%}
    {%- if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as _kept
        where _kept.{{ key }} = {{ relation }}.{{ key }}
    )
    {%- endif %}
{%- endmacro %}

{#- On an incremental run, every raw row of the ids that have a row loaded after the watermark
    (all of them on a full build): for a dedup order that is not the load order. -#}
{% macro raw_rows_of_touched_ids(source_relation, id_expression) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where {{ id_expression }} in (
        select {{ id_expression }} from {{ source_relation }}
        {{ loaded_after_watermark() }}
    )
    {%- endif %}
{%- endmacro %}

{#- Data tests of an append-only incremental staging model test the rows not yet tested.

    Rows a build keeps are never changed by a later one except by being replaced, and a
    replacement is a new row (a later loaded_at). So once every scoped test of such a model has
    passed, the rows it had were tested, and testing them again each day repeats a guarantee
    already given (at 100,000 accounts the full-table key test of product events alone took 14 s
    of a one-day refresh). At the end of an invocation in which all of a model's scoped tests ran
    and passed, advance_tested_through() records the model's max(loaded_at) in
    <model>__tested_through; a failed, skipped or absent test leaves it where it was, so its rows
    are tested again on the next run until they pass. A full build resets it to -infinity
    (pre-hook, in the model's transaction), so a full refresh tests every row. A test configured with
    `where: rows_not_yet_tested` then reads only the rows above it (get_where_subquery below), and
    `unique_not_null` with `only_keys_not_yet_tested: true` checks each such key against the
    whole table. -#}

{% macro tested_through_relation(relation) -%}
    {%- do return(api.Relation.create(
        database=relation.database, schema=relation.schema,
        identifier=relation.identifier ~ '__tested_through'
    )) -%}
{%- endmacro %}

{#- Pre-hook of the models above: a full build's rows are all untested (the record is reset to
    -infinity, not dropped: this invocation's tests may already know it exists). -#}
{% macro reset_tested_through() -%}
    {%- if not is_incremental() %}
    create or replace table {{ tested_through_relation(this) }} as
    select cast('-infinity' as {{ dbt.type_timestamp() }}) as tested_through
    {%- else %}
    select 1 as kept_tested_through
    {%- endif %}
{%- endmacro %}

{#- The predicate "not yet tested" (every row when nothing records a tested watermark). -#}
{% macro rows_not_yet_tested(relation) -%}
    {%- set recorded = tested_through_relation(relation) -%}
    {%- if execute and load_relation(recorded) is not none -%}
        (loaded_at is null or loaded_at > coalesce(
            (select max(tested_through) from {{ recorded }}),
            cast('-infinity' as {{ dbt.type_timestamp() }})
        ))
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A scoped test: one filtered to the rows not yet tested (a graph node or a result's node). -#}
{% macro is_scoped_test(node) -%}
    {%- if node.resource_type != 'test' -%}
        {%- do return(false) -%}
    {%- endif -%}
    {%- set kwargs = node.test_metadata.kwargs if node.test_metadata else {} -%}
    {%- do return(
        node.config.where == 'rows_not_yet_tested' or (kwargs.only_keys_not_yet_tested or false)
    ) -%}
{%- endmacro %}

{#- on-run-end: for each model whose scoped tests all ran in this invocation and passed, its
    rows are tested through its latest loaded_at. Returns the statements (run by dbt as the
    hook, outside any transaction). -#}
{% macro advance_tested_through(results) -%}
    {%- set statements = [] -%}
    {#- --empty runs every test on no rows: nothing was tested -#}
    {%- if execute and not flags.EMPTY -%}
        {%- set expected = {} -%}
        {%- for node in graph.nodes.values() if is_scoped_test(node) -%}
            {%- do expected.setdefault(node.attached_node, []).append(node.unique_id) -%}
        {%- endfor -%}
        {%- set passed = {} -%}
        {%- for result in results if is_scoped_test(result.node) and result.status == 'pass' -%}
            {%- do passed.setdefault(result.node.attached_node, []).append(result.node.unique_id) -%}
        {%- endfor -%}
        {%- for model_id, tests in expected.items() -%}
            {%- if (passed.get(model_id, []) | sort) == (tests | sort) -%}
                {%- set model = graph.nodes[model_id] -%}
                {%- set relation = api.Relation.create(
                    database=model.database, schema=model.schema, identifier=model.alias
                ) -%}
                {%- do statements.append(
                    "create or replace table " ~ tested_through_relation(relation)
                    ~ " as select coalesce(max(loaded_at), cast('-infinity' as "
                    ~ dbt.type_timestamp() ~ ")) as tested_through from " ~ relation
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ statements | join(';\n') if statements else 'select 1 as nothing_newly_tested' }}
{%- endmacro %}

{#- dbt's test filter, with one named filter added: `where: rows_not_yet_tested`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'rows_not_yet_tested' -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ rows_not_yet_tested(relation) ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
    {%- endif -%}
{%- endmacro %}

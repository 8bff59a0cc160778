{#- How the models after int_dossier_state_intervals follow what changed.

    int_dossier_state_intervals (before it builds) and stg_procedures (after) record each agency
    whose dossiers or catalogue changed and from which day (`dbt_restatements`: a day re-pulled,
    new, or gone from validated/ after a blocked re-pull), stamped with the dbt invocation's
    start. A model follows the inputs it reads and depends on their writer: the agency-day
    models the dossiers, the period models both (their coverage figures read the catalogue).
    A model downstream rebuilds, for the restatements recorded since its own last successful build,
    every row from that day on (an agency's, or every agency's where its rows are national),
    replacing the rows it held there: rows for a day no longer validated are deleted, not left
    behind. It then records how far it has read the log in `dbt_incremental_watermarks` (one
    row per model), in a post-hook inside the same transaction as its insert. A failed or
    skipped model keeps its old mark, so its next run picks up everything it missed; a full
    refresh (or a lost mark) recomputes everything. The marts are published column for column,
    so the bookkeeping is kept beside them. dbt is still the only writer: both tables are
    created by on-run-start hooks and written by hooks. -#}

{% macro watermarks_relation() -%}
    {{ target.schema }}.dbt_incremental_watermarks
{%- endmacro %}

{% macro create_watermarks_table() -%}
    create table if not exists {{ watermarks_relation() }} (
        model_name varchar primary key,
        built_through timestamp not null
    )
{%- endmacro %}

{% macro restatements_relation() -%}
    {{ target.schema }}.dbt_restatements
{%- endmacro %}

{% macro create_restatements_table() -%}
    create table if not exists {{ restatements_relation() }} (
        restated_input varchar not null,
        agency_code varchar not null,
        from_day date not null,
        built_at timestamp not null
    )
{%- endmacro %}

{#- The timestamp every row built by this invocation carries. -#}
{% macro build_stamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Hook: the agencies whose `input` ('dossiers', 'catalogue') changed, and from which day
    (`restated`: a query of agency_code, from_day); on a full build with `landed` (the input's
    day-partitioned relation), every agency of it from its first day. -#}
{% macro record_restatements(input, restated, landed=none) -%}
    insert into {{ restatements_relation() }} (restated_input, agency_code, from_day, built_at)
    select '{{ input }}', agency_code, from_day, {{ build_stamp() }}
    from (
        {%- if landed is none or is_incremental() %}
        {{ restated }}
        {%- else %}
        select agency_code, min(day) as from_day from {{ landed }} group by agency_code
        {%- endif %}
    ) as restated
{%- endmacro %}

{#- The inputs a model follows, by the rows it replaces (`in_restated_range`). -#}
{% macro followed_inputs(replaced) -%}
    {{ return(['dossiers'] if replaced == 'agency_days' else ['dossiers', 'catalogue']) }}
{%- endmacro %}

{#- Each agency whose `inputs` were restated since `model_name`'s last build, from its earliest
    restated day. -#}
{% macro restated_since_last_build(model_name, inputs) -%}
    select agency_code, min(from_day) as from_day
    from {{ restatements_relation() }}
    where restated_input in ('{{ inputs | join("', '") }}')
        and built_at > coalesce(
        (select built_through from {{ watermarks_relation() }} where model_name = '{{ model_name }}'),
        timestamp '1900-01-01'
    )
    group by agency_code
{%- endmacro %}

{#- Post-hook: this model has followed every restatement recorded so far. -#}
{% macro record_build() -%}
    insert or replace into {{ watermarks_relation() }} (model_name, built_through)
    select '{{ this.identifier }}', coalesce(max(built_at), timestamp '1900-01-01') from {{ restatements_relation() }}
{%- endmacro %}

{#- The first day of the period (`period`: 'day' or 'month') that holds `day`. -#}
{% macro period_start_of(period, day) -%}
    case {{ period }} when 'month' then cast(date_trunc('month', {{ day }}) as date) else {{ day }} end
{%- endmacro %}

{#- A filter on `row`: it lies in the range the restatements since this model's last build
    replace, by the model's `replaced` config: 'agency_days' (an agency's days from its
    restated day), 'agency_periods' (an agency's periods from the one holding that day) or
    'periods' (every row of the periods from the one holding the earliest restated day of any
    agency, so that sums over agencies and ranks within a period stay whole). The model selects
    its rows with it and the strategy below deletes with it, so the two cannot disagree. True
    for every row on a full build. -#}
{% macro in_restated_range(row) -%}
    {%- set replaced = config.get('replaced') -%}
    {%- if not is_incremental() -%}
    true
    {%- elif replaced in ('agency_days', 'agency_periods') -%}
    exists (
        select 1 from ({{ restated_since_last_build(this.identifier, followed_inputs(replaced)) }}) as restated
        where restated.agency_code = {{ row }}.agency_code
        {%- if replaced == 'agency_days' %}
            and {{ row }}.day >= restated.from_day
        {%- else %}
            and {{ row }}.period_start >= {{ period_start_of(row ~ '.period', 'restated.from_day') }}
        {%- endif %}
    )
    {%- elif replaced == 'periods' -%}
    {{ row }}.period_start >= (
        select {{ period_start_of(row ~ '.period', 'min(from_day)') }}
        from ({{ restated_since_last_build(this.identifier, followed_inputs(replaced)) }}) as restated
    )
    {%- else -%}
    {{ exceptions.raise_compiler_error("restated_range: `replaced` must be agency_days, agency_periods or periods, not " ~ replaced) }}
    {%- endif -%}
{%- endmacro %}

{#- The validated agency-days a model over the dossier intervals (re)builds: every one on a full
    build; else each restated agency's days from its restated day on (a dossier's state on a
    later day may have changed with it). -#}
{% macro rebuilt_agency_days() -%}
    select grid.agency_code, grid.day
    from {{ ref('stg_validated_partitions') }} as grid
    where {{ in_restated_range('grid') }}
{%- endmacro %}

{#- A custom incremental strategy (`incremental_strategy='restated_range'`): delete the rows the
    restatements since this model's last build replace (`in_restated_range`), then insert the
    model's rows, which are the rows of that range as they are now. Unlike delete+insert on a
    key, a row whose key the rebuild no longer produces (a day gone from validated/) goes. -#}
{% macro get_incremental_restated_range_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as replaced
    where {{ in_restated_range('replaced') }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

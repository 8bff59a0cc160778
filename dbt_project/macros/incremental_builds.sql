{#- How the models after int_dossier_state_intervals follow what changed.

    Every incremental model stamps the rows it (re)builds with `built_at` (the dbt invocation's
    start). A model downstream recomputes what its upstream rebuilt since its own last
    successful build, and records that point in `dbt_incremental_watermarks` (one row per model)
    in a post-hook, inside the same transaction as its insert. A failed or skipped model keeps
    its old mark, so its next run picks up everything it missed; a full refresh (or a lost mark)
    recomputes everything. The marts are published column for column, so the mark is kept
    beside them rather than in them. dbt is still the only writer: the table is created by an
    on-run-start hook and written by post-hooks. -#}

{% macro watermarks_relation() -%}
    {{ target.schema }}.dbt_incremental_watermarks
{%- endmacro %}

{% macro create_watermarks_table() -%}
    create table if not exists {{ watermarks_relation() }} (
        model_name varchar primary key,
        built_through timestamp not null
    )
{%- endmacro %}

{#- The timestamp every row built by this invocation carries. -#}
{% macro build_stamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- `upstream.built_at > this model's mark`: the upstream rows rebuilt since this model was last
    built. True for every row on a full build. -#}
{% macro rebuilt_since_last_build(upstream) -%}
    {%- if is_incremental() -%}
    {{ upstream }}.built_at > coalesce(
        (select built_through from {{ watermarks_relation() }} where model_name = '{{ this.identifier }}'),
        timestamp '1900-01-01'
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: this model has consumed everything `upstream` built so far. -#}
{% macro record_build(upstream) -%}
    insert or replace into {{ watermarks_relation() }} (model_name, built_through)
    select '{{ this.identifier }}', coalesce(max(built_at), timestamp '1900-01-01') from {{ upstream }}
{%- endmacro %}

{#- The validated agency-days a model over the dossier intervals (re)builds: every one on a full
    build; else each agency's days from the first day its intervals were restated since this
    model's last build (a dossier's state on a later day may have changed with it). -#}
{% macro rebuilt_agency_days(intervals) -%}
    select grid.agency_code, grid.day
    from {{ ref('stg_validated_partitions') }} as grid
    {%- if is_incremental() %}
    inner join (
        select agency_code, min(restated_from) as from_day
        from {{ intervals }} as rebuilt
        where {{ rebuilt_since_last_build('rebuilt') }}
        group by agency_code
    ) as changed
        on changed.agency_code = grid.agency_code
        and grid.day >= changed.from_day
    {%- endif %}
{%- endmacro %}

{#- A filter: the row's period (period, period_start) has a row `upstream` rebuilt since this
    model's last build. Whole periods are recomputed (every agency, both geographies, the
    nation), so that sums over agencies and ranks within a period stay whole. -#}
{% macro in_rebuilt_periods(upstream) -%}
    (period, period_start) in (
        select distinct period, period_start
        from {{ upstream }} as rebuilt
        where {{ rebuilt_since_last_build('rebuilt') }}
    )
{%- endmacro %}

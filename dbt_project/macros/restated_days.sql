{#- The agency-days an incremental run of int_dossier_state_intervals must (re)build: from each
    agency's first validated day that is new or whose landed file changed (content_sha256), or
    that was built and is no longer validated (a re-pull that failed its blocking checks), up
    to its last day, because a dossier's state on a day depends on every earlier version. The
    table keeps one marker row per built agency-day (dossier_code NULL) carrying the sha. -#}
{% macro restated_days(this_relation, grid=none) -%}
    {%- set grid = grid if grid is not none else ref('stg_validated_partitions') %}
    with built as (
        select agency_code, day, content_sha256 from {{ this_relation }} where dossier_code is null
    ),
    changed as (
        select grid.agency_code, min(grid.day) as from_day
        from {{ grid }} as grid
        left join built
            on built.agency_code = grid.agency_code
            and built.day = grid.day
            and built.content_sha256 = grid.content_sha256
        where built.day is null
        group by grid.agency_code
    ),
    gone as (
        select built.agency_code, min(built.day) as from_day
        from built
        anti join {{ grid }} as grid
            on grid.agency_code = built.agency_code
            and grid.day = built.day
        group by built.agency_code
    )
    select agency_code, min(from_day) as from_day
    from (select * from changed union all select * from gone) as restated
    group by agency_code
{%- endmacro %}

{#- The earliest restated day of any agency, as a literal for the model to filter the landed
    files by (DuckDB skips whole hive partitions on a constant, not on a subquery); none
    while parsing. A macro of its own so that a unit test can set it. `grid`: the validated
    partitions' relation, for a caller that does not ref it (macros/test_scope.sql). -#}
{% macro first_restated_day(this_relation, grid=none) -%}
    {%- if execute -%}
        {%- set query -%}
            with restated as ({{ restated_days(this_relation, grid) }})
            select cast(min(from_day) as varchar) from restated
        {%- endset -%}
        {{ return(run_query(query).columns[0][0]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The rows of int_dossier_state_intervals a restatement of an agency from `from_day` may
    replace: every row of its days from then on, and the versions before it whose interval
    reaches the day before. Of the latter, only those of a dossier with a version from then on
    (landed now, or built before) can change: the model re-emits them (its `carried` rows) and
    the strategy below deletes exactly those. An earlier interval cannot change: it was cut by
    a version of its own past, or ended with the dossier's handling; nor can the last version
    of an open dossier no version has touched since. -#}
{% macro is_replaced_by_restatement(row, from_day) -%}
    ({{ row }}.day >= {{ from_day }} or {{ row }}.valid_to >= {{ from_day }} - 1)
{%- endmacro %}

{#- A custom incremental strategy (`incremental_strategy='restated_agencies'`): delete the rows
    each restated agency replaces (the agencies the model's pre-hook recorded in
    dbt_restatements: one whose only change is a day gone may have no row to insert; a carried
    row is one whose day is before its agency's `restated_from`), then insert the new ones.
    The model's query has run into a temporary table before this, so it could read the rows
    that are deleted here; delete+insert on a key cannot express this (a version missing from a
    re-pull must go, and keys of removed rows never reach the new rows). -#}
{% macro get_incremental_restated_agencies_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as replaced
    using (
        select agency_code, from_day from {{ restatements_relation() }}
        where restated_input = 'dossiers' and built_at = {{ build_stamp() }}
    ) as restated
    where replaced.agency_code = restated.agency_code
        and {{ is_replaced_by_restatement('replaced', 'restated.from_day') }}
        and (
            replaced.day >= restated.from_day
            or exists (
                select 1 from {{ source }} as carried
                where carried.day < carried.restated_from
                    and carried.agency_code = replaced.agency_code
                    and carried.dossier_code = replaced.dossier_code
            )
        );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

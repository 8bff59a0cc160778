{#- Data tests over the landed dossier versions read only the days this build restates.

    `stg_dossier_versions` is a view over one Parquet file per agency-day: a test over all of it
    opened every file of the history on every build (a year at 0.01: about 21,000 files, 18 to
    47 s a test), and even a filter on the day listed every day's folder (a second a test at a
    year). Its tests say `where: __restated_days__`, and read the view's rows from the folders
    of the days from the first one int_dossier_state_intervals is about to rebuild
    (macros/restated_days.sql) with the view's own expressions (macros/dossier_versions.sql);
    every day on a first build or a full refresh. The view depends on stg_validated_partitions,
    so that the grid the restated days are read from is built first. Each day's versions are
    tested by the build that lands them; a day no build restates was tested before. dbt's own
    where-clause behaviour is kept for every other test (the macro it dispatches to,
    `default__get_where_subquery`). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__restated_days__' in where -%}
        {%- if relation.identifier != 'stg_dossier_versions' -%}
            {{ exceptions.raise_compiler_error("__restated_days__ scopes the tests of stg_dossier_versions, not " ~ relation) }}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ restated_dossier_versions(relation) }} where {{ where | replace('__restated_days__', 'true') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
{%- endmacro %}

{#- stg_dossier_versions' rows of the days this build restates, as a relation (the view itself
    while parsing, on a first build and on a full refresh). -#}
{% macro restated_dossier_versions(view) -%}
    {%- if not execute -%}
        {{ return(view) }}
    {%- endif -%}
    {%- set intervals = adapter.get_relation(target.database, target.schema, 'int_dossier_state_intervals') -%}
    {%- set grid = adapter.get_relation(target.database, target.schema, 'stg_validated_partitions') -%}
    {%- if intervals is none or grid is none or flags.FULL_REFRESH -%}
        {{ return(view) }}
    {%- endif -%}
    {{ return('(' ~ typed_dossier_versions(landed_dossiers_from(first_restated_day(intervals, grid), grid)) ~ ')') }}
{%- endmacro %}

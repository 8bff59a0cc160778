{#- Data tests over the landed dossier versions read only the days this build restates.

    `stg_dossier_versions` is a view over one Parquet file per agency-day: a test over all of it
    opened every file of the history on every build (a year at 0.01: about 21,000 files, 18 to
    47 s a test). Its tests say `where: __restated_days__`, which becomes `day >= <the
    first day int_dossier_state_intervals is about to rebuild>` (macros/restated_days.sql), a
    literal, so that DuckDB opens only those days' files; every day on a first build or a full
    refresh. The view depends on stg_validated_partitions, so that the grid the restated days
    are read from is built first. Each day's versions are tested by the build that lands them;
    a day no build restates was tested before. dbt's own where-clause behaviour is kept for
    every other test (the macro it dispatches to, `default__get_where_subquery`). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__restated_days__' in where -%}
        {%- set where = where | replace('__restated_days__', restated_days_filter()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
{%- endmacro %}

{% macro restated_days_filter() -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set intervals = adapter.get_relation(target.database, target.schema, 'int_dossier_state_intervals') -%}
    {%- set grid = adapter.get_relation(target.database, target.schema, 'stg_validated_partitions') -%}
    {%- if intervals is none or grid is none or flags.FULL_REFRESH -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set first_day = first_restated_day(intervals, grid) -%}
    {{ return("day >= date '" ~ first_day ~ "'" if first_day else 'false') }}
{%- endmacro %}

{#- dim_procedures follows the catalogue pulls that changed, not every pull of the history.

    A year of daily pulls is every procedure once a day (millions of rows in stg_procedures),
    and a window over all of them on every build was the slowest model of a day's build after
    a year. The dimension keeps the pulls it was derived from (`dim_procedures_pulls`: agency,
    day and the landed file's modification time, written by its post-hook in the same
    transaction); each agency whose pulls differ from those (new, re-landed or gone) is
    re-derived from its first differing day, from the version in force the day before. The
    rest of the table is kept as it was: its versions are a function of the pulls before. A
    full refresh, or a lost table of pulls, derives everything again. -#}

{% macro catalogue_pulls_relation() -%}
    {{ target.schema }}.dim_procedures_pulls
{%- endmacro %}

{% macro create_catalogue_pulls_table() -%}
    create table if not exists {{ catalogue_pulls_relation() }} (
        agency_code varchar not null,
        day date not null,
        landed_modified timestamp with time zone not null
    )
{%- endmacro %}

{% macro catalogue_pulls(staged=none) -%}
    select distinct agency_code, day, landed_modified from {{ staged if staged is not none else ref('stg_procedures') }}
{%- endmacro %}

{#- Each agency whose pulls differ from the ones the dimension was derived from, with the first
    day they differ. A macro of its own so that a unit test can set it. `staged`: the staged
    pulls' relation, for stg_procedures' own post-hook, which records these agencies for the
    KPI models (a period's coverage figures read its last reported day's pull). -#}
{% macro restated_catalogue_agencies(staged=none) -%}
    with pulls as ({{ catalogue_pulls(staged) }}),
    differing as (
        (select * from pulls except select * from {{ catalogue_pulls_relation() }})
        union all
        (select * from {{ catalogue_pulls_relation() }} except select * from pulls)
    )
    select agency_code, min(day) as from_day from differing group by agency_code
{%- endmacro %}

{#- Post-hooks: the pulls the dimension now follows. -#}
{% macro forget_catalogue_pulls() -%}
    delete from {{ catalogue_pulls_relation() }}
{%- endmacro %}

{% macro record_catalogue_pulls() -%}
    insert into {{ catalogue_pulls_relation() }} {{ catalogue_pulls() }}
{%- endmacro %}

{#- A custom incremental strategy (`incremental_strategy='rederived'`): the model's query gives
    the whole table (the rows it kept and the ones it derived again), which replaces it. -#}
{% macro get_incremental_rederived_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

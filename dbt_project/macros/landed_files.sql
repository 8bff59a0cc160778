{#- Staging tables that read only the landed files that changed since their last build.

    Reading every agency-day's file on every build made a year of history cost every file of
    a source in each model and data test over it (docs/performance.md, "Transform"). A staging table keeps, with
    each row, the file it came from and that file's modification time (`landed_file`,
    `landed_modified`); a build lists the files (names and modification times, opening none),
    reads only those new or modified since, and the strategy below replaces their rows and
    drops the rows of files that are gone (a re-pulled day that was blocked leaves validated/).
    The landing writes each file whole and renames it into place, so a changed file always has
    a new modification time. -#}

{#- The files of a model's `landed_files` glob, `<folder>/*/*/<file name>` (the landing's
    layout), with their modification times (pipelines/lib/landed_listing.py). -#}
{% macro landed_listing(pattern) -%}
    {%- set parts = pattern.split('/') -%}
    select unnest(landed_listing('{{ landed_path(parts[:-3] | join('/')) }}', '{{ parts[-1] }}'), recursive := true)
{%- endmacro %}

{#- The files a build reads: every one on a full build; else those not held with the same
    modification time. A list of literals (read_parquet takes no subquery); none while parsing.
    After it, one listed file (none if nothing is landed), whose columns stand for the source's
    when nothing changed. -#}
{% macro changed_landed_files(pattern) -%}
    {%- if not execute -%}
        {{ return(([], none)) }}
    {%- endif -%}
    {%- set query -%}
        with listing as ({{ landed_listing(pattern) }})
        select
            string_agg(listing.landed_file, chr(10) order by listing.landed_file)
                {%- if is_incremental() %} filter (where held.landed_file is null){% endif %} as changed,
            min(listing.landed_file) as any_file
        from listing
        {%- if is_incremental() %}
        left join (select distinct landed_file, landed_modified from {{ this }}) as held
            on held.landed_file = listing.landed_file
            and held.landed_modified = listing.landed_modified
        {%- endif %}
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {{ return(((found[0] or '').split('\n') | reject('equalto', '') | list, found[1])) }}
{%- endmacro %}

{#- The rows of the changed files, each with its file and modification time; an empty
    relation of the same columns when none changed (read from one file's footer: a glob over
    a year's files took a second to bind, for no rows). -#}
{% macro changed_landed_rows(pattern) -%}
    {%- set files, any_file = changed_landed_files(pattern) -%}
    select landed.* exclude (filename), listing.landed_file, listing.landed_modified
    from read_parquet(
        {%- if files %} [{% for file in files %}'{{ file }}'{{ ", " if not loop.last }}{% endfor %}]
        {%- elif any_file %} '{{ any_file }}'
        {%- else %} '{{ landed_path(pattern) }}'{% endif %},
        filename = true) as landed
    inner join ({{ landed_listing(pattern) }}) as listing on listing.landed_file = landed.filename
    {%- if not files %}
    where false
    {%- endif %}
{%- endmacro %}

{#- A custom incremental strategy (`incremental_strategy='landed_files'`, the model's
    `landed_files` config naming its glob): the rows of every file read again are replaced,
    and the rows of files no longer listed are deleted. -#}
{% macro get_incremental_landed_files_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where landed_file in (
        select landed_file from {{ source }}
        union all
        select held.landed_file
        from (select distinct landed_file from {{ target }}) as held
        anti join ({{ landed_listing(config.get('landed_files')) }}) as listing on listing.landed_file = held.landed_file
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

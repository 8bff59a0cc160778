{#- The landed dossier versions, typed (`stg_dossier_versions`) and with what every daily state
    needs derived once (`int_dossier_versions`): macros, so that what reads only the days a
    build restates (the interval table, the data tests over the versions) reads them with the
    same expressions as the views, from those days' folders alone. A glob over every day's
    folder took a second to list at a year of history, in each query over the views. -#}

{#- `landed`: a relation with the landed columns, e.g. source('landed', 'dossiers'). -#}
{% macro typed_dossier_versions(landed) -%}
    with source as (
        select * from {{ landed }}
    ),

    final as (
        select
            cast(agency_code as varchar) as agency_code,
            -- The partition folder's date: filtering on it skips whole files (hive pruning).
            "date" as day,
            cast(dossier_code as varchar) as dossier_code,
            cast(procedure_code as varchar) as procedure_code,
            cast(updated_at as timestamp) as updated_at,
            cast(submitted_at as timestamp) as submitted_at,
            cast(accepted_at as timestamp) as accepted_at,
            cast(due_at as timestamp) as due_at,
            cast(extended_due_at as timestamp) as extended_due_at,
            cast(ended_at as timestamp) as ended_at,
            cast(returned_at as timestamp) as returned_at,
            cast(status as integer) as status,
            cast(channel as integer) as channel,
            cast(applicant_type as varchar) as applicant_type,
            cast(applicant_id_hash as varchar) as applicant_id_hash,
            cast(fee_count as integer) as fee_count,
            cast(fee_amount_vnd as bigint) as fee_amount_vnd,
            cast(online_payment as integer) as online_payment,
            cast(result_document_count as integer) as result_document_count,
            cast(has_electronic_result as boolean) as has_electronic_result,
            cast(supplement_count as integer) as supplement_count
        from source
    )

    select * from final
{%- endmacro %}

{#- Due date in force (extended after a supplement) and when handling ended, if it has.
    `typed`: a relation of typed_dossier_versions' columns. -#}
{% macro derived_dossier_versions(typed) -%}
    with versions as (
        select * from {{ typed }}
    ),

    final as (
        select
            agency_code,
            day,
            dossier_code,
            procedure_code,
            updated_at,
            accepted_at,
            coalesce(extended_due_at, due_at) as effective_due_at,
            case when status in (3, 7, 8, 9, 10) then coalesce(ended_at, updated_at) end as closed_at,
            status in (3, 7, 8, 9, 10) as is_closed,
            status,
            channel,
            fee_amount_vnd,
            online_payment,
            has_electronic_result,
            supplement_count
        from versions
    )

    select * from final
{%- endmacro %}

{#- The landed versions of the validated days from `from_day` on (none: no day), read from
    their day folders only; `grid`: the validated partitions' relation. A relation as text. -#}
{% macro landed_dossiers_from(from_day, grid) -%}
    {%- set days = [] -%}
    {%- if execute -%}
        {%- set query -%}
            select distinct cast(day as varchar) from {{ grid }}
            where day >= {{ "date '" ~ from_day ~ "'" if from_day else "(select max(day) from " ~ grid ~ ")" }}
            order by 1
        {%- endset -%}
        {%- set days = run_query(query).columns[0].values() | list -%}
    {%- endif -%}
    {%- if days -%}
    (select * from read_parquet([
        {%- for day in days %}'{{ landed_path("validated/dossiers/date=" ~ day ~ "/*/dossiers.parquet") }}'{{ ", " if not loop.last }}{% endfor -%}
    ], hive_partitioning = true){{ " where false" if not from_day }})
    {%- else -%}
    (select * from read_parquet('{{ landed_path("validated/dossiers/*/*/dossiers.parquet") }}', hive_partitioning = true) where false)
    {%- endif -%}
{%- endmacro %}

{#- Whether a model reads the landed days from their folders (true) or the views: a macro of
    its own so that a unit test, whose inputs stand for the views, can read those. -#}
{% macro reads_day_folders() -%}
    {{ return(true) }}
{%- endmacro %}

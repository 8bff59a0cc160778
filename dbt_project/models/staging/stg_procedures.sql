{{
    config(
        materialized='incremental',
        incremental_strategy='landed_files',
        landed_files='validated/procedures/*/*/procedures.parquet',
        on_schema_change='fail',
        post_hook="{{ record_restatements('catalogue', restated_catalogue_agencies(this)) }}",
    )
}}
-- The procedure catalogue per agency and day. A table that reads only the files landed or
-- re-landed since its last build (macros/landed_files.sql). Its post-hook records the agencies
-- whose pulls changed for the KPI models (macros/incremental_builds.sql).
-- depends_on: {{ source('landed', 'procedures') }}
with source as (
    {{ changed_landed_rows(config.get('landed_files')) }}
),

final as (
    select
        cast(agency_code as varchar) as agency_code,
        cast(day as date) as day,
        cast(procedure_code as varchar) as procedure_code,
        cast(procedure_name as varchar) as procedure_name,
        cast(field as varchar) as field,
        cast(handling_days as integer) as handling_days,
        cast(has_fee as boolean) as has_fee,
        cast(fee_vnd as bigint) as fee_vnd,
        cast(online_level as varchar) as online_level,
        cast(eligible_full_process as boolean) as eligible_full_process,
        landed_file,
        landed_modified
    from source
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='landed_files',
        landed_files='validated/partitions/*/*/partition.parquet',
        on_schema_change='fail',
    )
}}
-- The validated agency-days: the grid on which daily KPIs are reported. A table that reads only
-- the files landed or re-landed since its last build (macros/landed_files.sql).
-- depends_on: {{ source('landed', 'partitions') }}
with source as (
    {{ changed_landed_rows(config.get('landed_files')) }}
),

final as (
    select
        cast(agency_code as varchar) as agency_code,
        cast(day as date) as day,
        cast(source_total as bigint) as source_total,
        cast(landed as bigint) as landed,
        cast(quarantined as bigint) as quarantined,
        cast(content_sha256 as varchar) as content_sha256,
        landed_file,
        landed_modified
    from source
)

select * from final

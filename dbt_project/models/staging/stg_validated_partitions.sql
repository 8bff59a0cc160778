-- The validated agency-days: the grid on which daily KPIs are reported.
with source as (
    select * from {{ source('landed', 'partitions') }}
),

final as (
    select
        cast(agency_code as varchar) as agency_code,
        cast(day as date) as day,
        cast(source_total as bigint) as source_total,
        cast(landed as bigint) as landed,
        cast(quarantined as bigint) as quarantined,
        cast(content_sha256 as varchar) as content_sha256
    from source
)

select * from final

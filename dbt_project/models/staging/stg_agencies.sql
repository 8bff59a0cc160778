-- The agency registry: ministries (G codes) and provinces (H codes) with validity dates.
with source as (
    select * from {{ source('landed', 'agencies') }}
),

final as (
    select
        cast(agency_code as varchar) as agency_code,
        cast(name_vi as varchar) as name_vi,
        cast(name_en as varchar) as name_en,
        cast(agency_level as varchar) as agency_level,
        cast(gso_province_code as varchar) as gso_province_code,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        cast(successor_code as varchar) as successor_code
    from source
)

select * from final

-- Provinces before and after the 1 July 2025 merger (63 → 34), with GSO statistical codes:
-- the crosswalk from each province as it was to the province that absorbed it.
with provinces as (
    select * from {{ ref('dim_agencies') }} where agency_level = 'province'
)

select
    provinces.agency_code,
    provinces.name_vi,
    provinces.name_en,
    provinces.gso_province_code,
    provinces.valid_from,
    provinces.valid_to,
    provinces.as_is_agency_code as current_agency_code,
    current.name_vi as current_name_vi,
    current.name_en as current_name_en,
    current.gso_province_code as current_gso_province_code
from provinces
inner join provinces as current on current.agency_code = provinces.as_is_agency_code

-- The agency code list: every ministry and province that reports or reported, with validity
-- dates and the agency that answers for it today; plus 'VN', the national total.
with agencies as (
    select agencies.*, lineage.as_is_agency_code
    from {{ ref('stg_agencies') }} as agencies
    inner join {{ ref('int_agency_lineage') }} as lineage
        on lineage.agency_code = agencies.agency_code
),

national as (
    select
        'VN' as agency_code,
        'Toàn quốc' as name_vi,
        'Viet Nam (national total)' as name_en,
        'national' as agency_level,
        cast(null as varchar) as gso_province_code,
        cast(null as date) as valid_from,
        cast(null as date) as valid_to,
        cast(null as varchar) as successor_code,
        'VN' as as_is_agency_code
)

select * from agencies
union all by name
select * from national

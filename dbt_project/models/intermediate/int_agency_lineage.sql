-- Each agency code, as the data was reported ("as was"), mapped to the agency that answers for
-- it today ("as is"): a province merged on 2025-07-01 or a ministry merged in 2025 maps to its
-- successor, followed to the end of the chain.
with recursive chain (agency_code, current_code, depth) as (
    select agency_code, agency_code, 0
    from {{ ref('stg_agencies') }}
    union all
    select chain.agency_code, agencies.successor_code, chain.depth + 1
    from chain
    inner join {{ ref('stg_agencies') }} as agencies on agencies.agency_code = chain.current_code
    where agencies.successor_code is not null and chain.depth < 10
),

final as (
    select agency_code, current_code as as_is_agency_code
    from chain
    qualify row_number() over (partition by agency_code order by depth desc) = 1
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['period', 'period_start'],
        on_schema_change='fail',
        post_hook="{{ record_build(ref('int_kpi_agency_periods')) }}",
    )
}}
-- Every KPI measure per period (day, month) in both geographies: "as_was", each agency as it
-- reported at the time; "as_is", rolled up to today's agencies (a merged province's history
-- counted under the province that absorbed it); plus the national total ('VN') in both.
--
-- Incremental: the periods with an agency row rebuilt since this model's last build, each
-- recomputed whole (every agency, both geographies, the nation), delete+insert on
-- (period, period_start).
with agency_periods as (
    select periods.* exclude (built_at), lineage.as_is_agency_code
    from {{ ref('int_kpi_agency_periods') }} as periods
    inner join {{ ref('int_agency_lineage') }} as lineage
        on lineage.agency_code = periods.agency_code
    where {{ in_rebuilt_periods(ref('int_kpi_agency_periods')) }}
),

as_was as (
    select 'as_was' as geography, * exclude (as_is_agency_code)
    from agency_periods
),

as_is as (
    select
        'as_is' as geography,
        as_is_agency_code as agency_code,
        period,
        period_start,
        max(period_end) as period_end,
        cast(sum(agency_days_reported) as bigint) as agency_days_reported,
        {{ summed_measures() }}
    from agency_periods
    group by as_is_agency_code, period, period_start
),

national as (
    select
        geographies.geography,
        'VN' as agency_code,
        period,
        period_start,
        max(period_end) as period_end,
        cast(sum(agency_days_reported) as bigint) as agency_days_reported,
        {{ summed_measures() }}
    from agency_periods
    cross join (values ('as_was'), ('as_is')) as geographies (geography)
    group by geographies.geography, period, period_start
),

combined as (
    select * from as_was
    union all by name
    select * from as_is
    union all by name
    select * from national
),

final as (
    select
        combined.*,
        coalesce(agencies.agency_level, 'national') as agency_level,
        {{ build_stamp() }} as built_at
    from combined
    left join {{ ref('stg_agencies') }} as agencies
        on agencies.agency_code = combined.agency_code
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Every KPI measure per period (day, month) in both geographies: "as_was", each agency as it
-- reported at the time; "as_is", rolled up to today's agencies (a merged province's history
-- counted under the province that absorbed it); plus the national total ('VN') in both.
-- A total's days expected are those of every agency under it, reporting or not; its open stock
-- is known when every such agency has a row in the period whose stock is known.
--
-- Incremental: the periods from the one holding the earliest day restated since this model's
-- last build, each recomputed whole (every agency, both geographies, the nation), replacing
-- the rows it had there (macros/incremental_builds.sql).
with agency_periods as (
    select periods.* exclude (built_at), lineage.as_is_agency_code
    from {{ ref('int_kpi_agency_periods') }} as periods
    inner join {{ ref('int_agency_lineage') }} as lineage
        on lineage.agency_code = periods.agency_code
    where {{ in_restated_range('periods') }}
),

expected as (
    -- Per period being built and agency "as is": the agency-days expected and the agencies.
    select
        periods.period,
        periods.period_start,
        lineage.as_is_agency_code,
        coverage.agency_code,
        count(*) as agency_days_expected
    from (select distinct period, period_start, period_end from agency_periods) as periods
    inner join {{ ref('int_agency_days') }} as coverage
        on coverage.day between periods.period_start and periods.period_end
    inner join {{ ref('int_agency_lineage') }} as lineage
        on lineage.agency_code = coverage.agency_code
    group by all
),

expected_totals as (
    -- Keyed by the total's code: an agency "as is", or 'VN' (the same in both geographies).
    select
        case when geographies.geography = 'national' then 'VN' else expected.as_is_agency_code end as agency_code,
        expected.period,
        expected.period_start,
        cast(sum(expected.agency_days_expected) as bigint) as agency_days_expected,
        count(*) as agencies_expected,
        count(*) filter (where reported.stocks_complete) as agencies_with_stocks_complete
    from expected
    cross join (values ('as_is'), ('national')) as geographies (geography)
    left join agency_periods as reported
        on reported.agency_code = expected.agency_code
        and reported.period = expected.period
        and reported.period_start = expected.period_start
    group by all
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

totals as (
    select rolled_up.*, expected.agency_days_expected,
        expected.agencies_with_stocks_complete = expected.agencies_expected as stocks_complete
    from (select * from as_is union all by name select * from national) as rolled_up
    inner join expected_totals as expected
        on expected.agency_code = rolled_up.agency_code
        and expected.period = rolled_up.period
        and expected.period_start = rolled_up.period_start
),

combined as (
    select * from as_was
    union all by name
    select * from totals
),

final as (
    select
        combined.*,
        combined.agency_days_reported = combined.agency_days_expected as period_complete,
        coalesce(agencies.agency_level, 'national') as agency_level,
        {{ build_stamp() }} as built_at
    from combined
    left join {{ ref('stg_agencies') }} as agencies
        on agencies.agency_code = combined.agency_code
)

select * from final

-- Every agency-day the pipeline should hold: each agency on the days it reports (from its first
-- valid day through reporting_tail_days after its last), from stock_lookback_days before the
-- first validated day to the end of the last validated day's month; whether it is held (pulled,
-- reconciled and validated), and for a held day whether the open stock is known: every day the
-- agency reported in the stock_lookback_days before it is held too. A dossier open at the end
-- of D was accepted within that look-back, so its versions are all in a held day.
with grid as (
    select agency_code, day from {{ ref('stg_validated_partitions') }}
),

bounds as (
    select
        min(day) - {{ var('stock_lookback_days') }} as first_day,
        last_day(max(day)) as last_day
    from grid
),

expected as (
    select agencies.agency_code, calendar.day
    from {{ ref('int_calendar_days') }} as calendar
    cross join bounds
    inner join {{ ref('stg_agencies') }} as agencies
        on (agencies.valid_from is null or agencies.valid_from <= calendar.day)
        and (agencies.valid_to is null
            or calendar.day <= agencies.valid_to + {{ var('reporting_tail_days') }})
    where calendar.day between bounds.first_day and bounds.last_day
),

held as (
    select expected.agency_code, expected.day, grid.day is not null as is_held
    from expected
    left join grid
        on grid.agency_code = expected.agency_code
        and grid.day = expected.day
),

looked_back as (
    -- An agency's reporting days are consecutive, so the previous N rows are the previous N
    -- days (fewer only where the agency began within them, which is no gap).
    select
        *,
        count(*) filter (where not is_held) over (
            partition by agency_code order by day
            rows between {{ var('stock_lookback_days') }} preceding and 1 preceding
        ) as days_missing_before
    from held
),

final as (
    select
        agency_code,
        day,
        is_held,
        is_held and coalesce(days_missing_before, 0) = 0 as stocks_complete
    from looked_back
)

select * from final

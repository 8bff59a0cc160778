-- The look-back rule (vars.stock_lookback_days) holds on the data: no dossier changes, nor stays
-- open, more than that many days after its acceptance. Were one to, the stock of a day whose
-- look-back is held could still miss it, and would be published as complete. Returns such
-- dossiers (their latest version). "Stays open" is judged only where the look-back of the
-- agency's last held day is held too: with days missing, a dossier may have closed unseen.
with held as (
    select last_held.agency_code, last_held.last_held_day, coverage.stocks_complete
    from (
        select agency_code, max(day) as last_held_day
        from {{ ref('stg_validated_partitions') }}
        group by agency_code
    ) as last_held
    inner join {{ ref('int_agency_days') }} as coverage
        on coverage.agency_code = last_held.agency_code
        and coverage.day = last_held.last_held_day
),

versions as (
    select intervals.*, held.last_held_day, held.stocks_complete
    from {{ ref('int_dossier_state_intervals') }} as intervals
    inner join held on held.agency_code = intervals.agency_code
    where intervals.dossier_code is not null and intervals.accepted_at is not null
)

select agency_code, dossier_code, accepted_at, updated_at, is_closed, last_held_day
from versions
where cast(updated_at as date) - cast(accepted_at as date) > {{ var('stock_lookback_days') }}
    or (stocks_complete and not is_closed and valid_to >= last_held_day
        and last_held_day - cast(accepted_at as date) > {{ var('stock_lookback_days') }})
qualify row_number() over (partition by agency_code, dossier_code order by updated_at desc) = 1

-- The procedure catalogue with its history: one row per agency, procedure and version of its
-- attributes (online level above all), valid from the first day a catalogue pull showed it
-- until the day before it changed (valid_to NULL: still in force at the last pull). Derived
-- from the daily catalogue pulls, so a backfill rebuilds the exact history.
with observations as (
    select
        *,
        md5(concat_ws('|', procedure_name, field, handling_days, has_fee, fee_vnd, online_level,
                      eligible_full_process)) as attributes_hash
    from {{ ref('stg_procedures') }}
),

changes as (
    select
        *,
        attributes_hash is distinct from lag(attributes_hash) over (
            partition by agency_code, procedure_code order by day
        ) as is_change
    from observations
),

versions as (
    select
        *,
        sum(case when is_change then 1 else 0 end) over (
            partition by agency_code, procedure_code order by day
        ) as version
    from changes
),

collapsed as (
    select
        agency_code,
        procedure_code,
        version,
        min(day) as valid_from,
        max(day) as last_seen,
        any_value(procedure_name) as procedure_name,
        any_value(field) as field,
        any_value(handling_days) as handling_days,
        any_value(has_fee) as has_fee,
        any_value(fee_vnd) as fee_vnd,
        any_value(online_level) as online_level,
        any_value(eligible_full_process) as eligible_full_process
    from versions
    group by agency_code, procedure_code, version
),

last_pull as (
    select agency_code, max(day) as last_pull_day from observations group by agency_code
),

final as (
    select
        collapsed.* exclude (version, last_seen),
        coalesce(
            lead(collapsed.valid_from) over (
                partition by collapsed.agency_code, collapsed.procedure_code order by collapsed.valid_from
            ) - 1,
            -- dropped from the catalogue before the last pull
            case when collapsed.last_seen < last_pull.last_pull_day then collapsed.last_seen end
        ) as valid_to
    from collapsed
    inner join last_pull on last_pull.agency_code = collapsed.agency_code
)

select * from final

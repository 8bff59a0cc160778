-- The procedure catalogue with its history: one row per agency, procedure and version of its
-- attributes (online level above all), valid from the first day a catalogue pull showed it
-- until the day before it changed (valid_to NULL: still in force at the last pull). Derived
-- from the daily catalogue pulls, so a backfill rebuilds the exact history.
--
-- A year of pulls is every procedure once a day (millions of rows): one pass marks the days a
-- procedure's attributes differ from its pull before, and only those rows (thousands) go on.
{%- set attributes = 'procedure_name, field, handling_days, has_fee, fee_vnd, online_level, eligible_full_process' %}
with observations as (
    select
        agency_code,
        procedure_code,
        day,
        {{ attributes }},
        ({{ attributes }}) is distinct from lag(({{ attributes }}))
            over (partition by agency_code, procedure_code order by day) as is_change
    from {{ ref('stg_procedures') }}
),

versions as (
    select agency_code, procedure_code, day as valid_from, {{ attributes }}
    from observations
    where is_change
),

last_seen as (
    select agency_code, procedure_code, max(day) as last_seen
    from {{ ref('stg_procedures') }}
    group by agency_code, procedure_code
),

last_pull as (
    select agency_code, max(last_seen) as last_pull_day
    from last_seen
    group by agency_code
),

final as (
    select
        versions.*,
        coalesce(
            lead(versions.valid_from) over (
                partition by versions.agency_code, versions.procedure_code order by versions.valid_from
            ) - 1,
            -- dropped from the catalogue before the last pull
            case when last_seen.last_seen < last_pull.last_pull_day then last_seen.last_seen end
        ) as valid_to
    from versions
    inner join last_seen
        on last_seen.agency_code = versions.agency_code
        and last_seen.procedure_code = versions.procedure_code
    inner join last_pull on last_pull.agency_code = versions.agency_code
)

select * from final

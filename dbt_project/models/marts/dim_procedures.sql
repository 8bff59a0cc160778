{{
    config(
        materialized='incremental',
        incremental_strategy='rederived',
        on_schema_change='fail',
        post_hook=["{{ forget_catalogue_pulls() }}", "{{ record_catalogue_pulls() }}"],
    )
}}
-- The procedure catalogue with its history: one row per agency, procedure and version of its
-- attributes (online level above all), valid from the first day a catalogue pull showed it
-- until the day before it changed (valid_to NULL: still in force at the last pull). Derived
-- from the daily catalogue pulls, so a backfill rebuilds the exact history.
--
-- A year of pulls is every procedure once a day (millions of rows): a build derives again only
-- the agencies whose pulls changed, from their first changed day (macros/catalogue_history.sql),
-- and one pass marks the days a procedure's attributes differ from its pull before.
{%- set attributes = 'procedure_name, field, handling_days, has_fee, fee_vnd, online_level, eligible_full_process' %}
with
{%- if is_incremental() %}
restated as (
    {{ restated_catalogue_agencies() }}
),

kept as (
    select held.agency_code, held.procedure_code, held.valid_from, {{ attributes }}
    from {{ this }} as held
    left join restated on restated.agency_code = held.agency_code
    where restated.from_day is null or held.valid_from < restated.from_day
),

-- The version of each procedure of a restated agency in force before its first changed day:
-- its attributes are those of the procedure's last pull before that day.
in_force as (
    select kept.agency_code, kept.procedure_code, kept.valid_from as day, {{ attributes }}
    from kept
    inner join restated on restated.agency_code = kept.agency_code
    qualify row_number() over (partition by kept.agency_code, kept.procedure_code order by kept.valid_from desc) = 1
),

pulled as (
    select pulls.agency_code, pulls.procedure_code, pulls.day, {{ attributes }}
    from {{ ref('stg_procedures') }} as pulls
    inner join restated on restated.agency_code = pulls.agency_code and pulls.day >= restated.from_day
    union all
    select * from in_force
),
{%- else %}
pulled as (
    select agency_code, procedure_code, day, {{ attributes }}
    from {{ ref('stg_procedures') }}
),
{%- endif %}

observations as (
    select
        agency_code,
        procedure_code,
        day,
        {{ attributes }},
        ({{ attributes }}) is distinct from lag(({{ attributes }}))
            over (partition by agency_code, procedure_code order by day) as is_change
    from pulled
),

versions as (
    select observations.agency_code, observations.procedure_code, observations.day as valid_from, {{ attributes }}
    from observations
    {%- if is_incremental() %}
    inner join restated
        on restated.agency_code = observations.agency_code
        and observations.day >= restated.from_day
    {%- endif %}
    where is_change
    {%- if is_incremental() %}
    union all
    select * from kept
    {%- endif %}
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

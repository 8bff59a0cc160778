{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='agency_days',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Which procedures received at least one online dossier (accepted) on each agency-day: the
-- versions that are that day's state, accepted online that day. Every agency-day built has at
-- least one row (procedure_code NULL when none was used).
--
-- Incremental: each restated agency's days from its restated day on, replacing the rows it
-- had there (macros/incremental_builds.sql).
with targets as (
    {{ rebuilt_agency_days() }}
),

target_range as (
    select agency_code, min(day) as first_day from targets group by agency_code
),

used as (
    -- Only the versions accepted on or after the first day being built are read further.
    select intervals.agency_code, cast(intervals.accepted_at as date) as day, intervals.procedure_code
    from {{ ref('int_dossier_state_intervals') }} as intervals
    inner join target_range on target_range.agency_code = intervals.agency_code
    where intervals.dossier_code is not null
        and intervals.accepted_at >= target_range.first_day
        and intervals.channel = 2
        and cast(intervals.accepted_at as date) between intervals.valid_from and intervals.valid_to
),

final as (
    select distinct
        targets.agency_code,
        targets.day,
        used.procedure_code,
        {{ build_stamp() }} as built_at
    from targets
    left join used
        on used.agency_code = targets.agency_code
        and used.day = targets.day
)

select * from final

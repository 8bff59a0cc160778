{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_restated_days() }}",
    )
}}
-- The state of every open dossier at the end of each validated agency-day, plus the dossiers
-- whose handling ended that day. A dossier's state at the end of day D is its last version
-- updated before D + 1. Every built agency-day keeps at least one row (an empty one when no
-- dossier was open), carrying its partition's content_sha256, so a later run can tell what
-- changed.
--
-- Incremental: a daily run reads the open states of each agency's last built day and the
-- versions landed since, not the whole history. A re-pulled (restated) day rebuilds that
-- agency from that day on.
with grid as (
    select agency_code, day, content_sha256
    from {{ ref('stg_validated_partitions') }}
),

{% if is_incremental() %}
{%- set scan_after = none -%}
{%- if execute -%}
    {%- set first_scanned_day -%}
        with restated as ({{ restated_days(this) }}),
        base as (
            select restated.agency_code, max(states.day) as base_day
            from restated
            left join {{ this }} as states
                on states.agency_code = restated.agency_code and states.day < restated.from_day
            group by restated.agency_code
        )
        select cast(min(coalesce(base_day, date '1900-01-01')) as varchar) from base
    {%- endset -%}
    {%- set scan_after = run_query(first_scanned_day).columns[0][0] -%}
{%- endif %}
restated as (
    {{ restated_days(this) }}
),

targets as (
    select grid.*
    from grid
    inner join restated
        on restated.agency_code = grid.agency_code
        and grid.day >= restated.from_day
),

base as (
    -- Each restated agency's last day left built: its open dossiers are where the run starts.
    select restated.agency_code, max(states.day) as base_day
    from restated
    inner join {{ this }} as states
        on states.agency_code = restated.agency_code and states.day < restated.from_day
    group by restated.agency_code
),

candidates as (
    select states.* exclude (day, content_sha256)
    from {{ this }} as states
    inner join base
        on base.agency_code = states.agency_code
        and base.base_day = states.day
    where states.dossier_code is not null
        and not states.is_closed
    union all by name
    select versions.* exclude (day)
    from {{ ref('int_dossier_versions') }} as versions
    inner join restated on restated.agency_code = versions.agency_code
    left join base on base.agency_code = versions.agency_code
    where versions.day > coalesce(base.base_day, date '1900-01-01')
        {% if scan_after is not none %}
        -- a literal, so that DuckDB skips whole partition files
        and versions.day > date '{{ scan_after }}'
        {% else %}
        and false
        {% endif %}
),
{% else %}
targets as (
    select * from grid
),

candidates as (
    select * exclude (day) from {{ ref('int_dossier_versions') }}
),
{% endif %}

target_range as (
    select agency_code, min(day) as min_day, max(day) as max_day
    from targets
    group by agency_code
),

intervals as (
    -- The days each version is the dossier's state at day end: from its own day until the day
    -- before the next version, and never past the day its handling ended.
    select
        *,
        cast(updated_at as date) as valid_from,
        least(
            coalesce(
                cast(lead(updated_at) over (partition by agency_code, dossier_code order by updated_at) as date)
                - 1,
                date '9999-12-31'
            ),
            case when is_closed then cast(closed_at as date) else date '9999-12-31' end
        ) as valid_to
    from candidates
),

clamped as (
    -- Only the days being built are expanded.
    select
        intervals.* exclude (valid_from, valid_to),
        greatest(intervals.valid_from, target_range.min_day) as first_day,
        least(intervals.valid_to, target_range.max_day) as last_day
    from intervals
    inner join target_range on target_range.agency_code = intervals.agency_code
),

expanded as (
    select
        clamped.* exclude (first_day, last_day),
        cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as day
    from clamped
    where first_day <= last_day
),

final as (
    select
        targets.agency_code,
        targets.day,
        targets.content_sha256,
        expanded.dossier_code,
        expanded.procedure_code,
        expanded.updated_at,
        expanded.accepted_at,
        expanded.effective_due_at,
        expanded.closed_at,
        expanded.is_closed,
        expanded.status,
        expanded.channel,
        expanded.fee_amount_vnd,
        expanded.online_payment,
        expanded.has_electronic_result,
        expanded.supplement_count
    from targets
    left join expanded
        on expanded.agency_code = targets.agency_code
        and expanded.day = targets.day
)

select * from final

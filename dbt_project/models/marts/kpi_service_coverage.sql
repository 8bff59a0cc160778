{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Online service coverage (766 items 3.1, 3.2; Decree 42/2022 levels), per agency and period,
-- from the procedure catalogue in force on the period's last reported day.
-- Incremental: the periods from the one holding the earliest day restated since this table's
-- last build, whole (macros/incremental_builds.sql).
select
    {{ kpi_key_columns() | join(', ') }},
    procedures_total,
    procedures_full_process,
    procedures_partial_online,
    procedures_online,
    {{ safe_rate('procedures_online', 'procedures_total') }} as online_coverage_rate,
    procedures_eligible_full_process,
    procedures_eligible_offered_full_process,
    {{ safe_rate('procedures_eligible_offered_full_process', 'procedures_eligible_full_process') }}
        as full_process_rate,
    procedures_online_used,
    {{ safe_rate('procedures_online_used', 'procedures_online') }} as online_uptake_rate
from {{ ref('int_kpi_periods') }} as periods
where {{ in_restated_range('periods') }}

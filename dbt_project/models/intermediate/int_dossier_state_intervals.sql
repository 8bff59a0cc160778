{{
    config(
        materialized='incremental',
        incremental_strategy='restated_agencies',
        on_schema_change='fail',
        pre_hook="{{ record_restatements('dossiers', restated_days(this), ref('stg_validated_partitions')) }}",
    )
}}
-- One row per dossier version with the days it is the dossier's state at day end: from the day
-- it was updated (valid_from) until the day before the dossier's next version, and never past
-- the day its handling ended (valid_to; 9999-12-31 while it is the last version of an open
-- dossier). A version superseded on its own day has valid_to < valid_from: it is no day's state.
-- The daily stocks are computed from these bounds (int_kpi_agency_daily), so the table grows
-- with the versions landed, not with the open stock times the days it stays open.
--
-- Plus one marker row per validated agency-day (dossier_code NULL) carrying its partition's
-- content_sha256, so that a later run can tell which agency-days are new or were re-pulled.
--
-- Incremental: an agency with a new or restated day, or a day gone from validated/, is rebuilt
-- from that day (restated_from): its versions landed since, and the earlier versions whose
-- interval may now end elsewhere:
-- those of the dossiers with a version from that day on, landed now or built before (read
-- here before the strategy deletes them, see macros/restated_days.sql). The rest of its
-- history, the open stock not touched since included, is left as it is: a daily run follows
-- the day's dossiers, not every dossier still open. The pre-hook records
-- the agencies restated for the models after this one (macros/incremental_builds.sql).
with grid as (
    select agency_code, day, content_sha256
    from {{ ref('stg_validated_partitions') }}
),

{% if is_incremental() %}
{%- set scan_from = first_restated_day(this) %}
restated as (
    {{ restated_days(this) }}
),

landed as (
    select versions.*
    {%- if reads_day_folders() %}
    -- int_dossier_versions, read from the folders of the days from scan_from on only
    -- (macros/dossier_versions.sql)
    from ({{ derived_dossier_versions('(' ~ typed_dossier_versions(landed_dossiers_from(scan_from, ref('stg_validated_partitions'))) ~ ')') }}) as versions
    {%- else %}
    from {{ ref('int_dossier_versions') }} as versions
    {%- endif %}
    inner join restated
        on restated.agency_code = versions.agency_code
        and versions.day >= restated.from_day
    where {% if scan_from is not none %}versions.day >= date '{{ scan_from }}'{% else %}false{% endif %}
),

touched as (
    -- The dossiers with a version from the restated day on: as landed now, and as built before
    -- (a version a re-pull no longer holds no longer cuts the one before it).
    select agency_code, dossier_code from landed
    union
    select built.agency_code, built.dossier_code
    from {{ this }} as built
    inner join restated on restated.agency_code = built.agency_code
    where built.dossier_code is not null
        and built.day >= restated.from_day
        {% if scan_from is not none %}and built.day >= date '{{ scan_from }}'{% endif %}
),

carried as (
    -- Their versions before the restated day whose interval reaches the day before it.
    select built.* exclude (valid_from, valid_to, restated_from, built_at)
    from {{ this }} as built
    inner join restated on restated.agency_code = built.agency_code
    semi join touched
        on touched.agency_code = built.agency_code
        and touched.dossier_code = built.dossier_code
    where built.day < restated.from_day
        and {{ is_replaced_by_restatement('built', 'restated.from_day') }}
),
{% else %}
restated as (
    select agency_code, min(day) as from_day
    from grid
    group by agency_code
),

landed as (
    select * from {{ ref('int_dossier_versions') }}
),
{% endif %}

landed_with_sha as (
    select landed.*, grid.content_sha256
    from landed
    left join grid
        on grid.agency_code = landed.agency_code
        and grid.day = landed.day
),

candidates as (
    {% if is_incremental() %}
    select * from carried
    union all by name
    {% endif %}
    select * from landed_with_sha
),

intervals as (
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

markers as (
    -- The agency-days being built, one row each, dossier columns empty.
    select grid.agency_code, grid.day, grid.content_sha256
    from grid
    inner join restated
        on restated.agency_code = grid.agency_code
        and grid.day >= restated.from_day
),

combined as (
    select * from intervals
    union all by name
    select * from markers
),

final as (
    select
        combined.agency_code,
        combined.day,
        combined.content_sha256,
        combined.dossier_code,
        combined.procedure_code,
        combined.updated_at,
        combined.accepted_at,
        combined.effective_due_at,
        combined.closed_at,
        combined.is_closed,
        combined.status,
        combined.channel,
        combined.fee_amount_vnd,
        combined.online_payment,
        combined.has_electronic_result,
        combined.supplement_count,
        combined.valid_from,
        combined.valid_to,
        restated.from_day as restated_from,
        {{ build_stamp() }} as built_at
    from combined
    inner join restated on restated.agency_code = combined.agency_code
)

select * from final

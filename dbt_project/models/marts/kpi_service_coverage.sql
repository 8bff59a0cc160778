-- Service coverage per agency and day (Decision 766/QĐ-TTg items 3.1, 3.2; Decree 42/2022
-- levels): the catalogue of that day, and which online services were used that day.
with procedures as (
    select * from {{ ref('stg_procedures') }}
),

online_use as (
    select distinct agency_code, day, procedure_code
    from {{ ref('int_dossier_states_daily') }}
    where channel = 2
        and accepted_at >= day
        and accepted_at < day + interval 1 day
),

catalogue as (
    select
        procedures.agency_code,
        procedures.day,
        count(*) as procedures_total,
        count(*) filter (where online_level = 'full_process') as procedures_full_process,
        count(*) filter (where online_level = 'partial') as procedures_partial_online,
        count(*) filter (where online_level in ('full_process', 'partial')) as procedures_online,
        count(*) filter (where eligible_full_process) as procedures_eligible_full_process,
        count(*) filter (
            where eligible_full_process and online_level = 'full_process'
        ) as procedures_eligible_offered_full_process,
        count(online_use.procedure_code) filter (
            where online_level in ('full_process', 'partial')
        ) as procedures_online_used
    from procedures
    left join online_use
        on online_use.agency_code = procedures.agency_code
        and online_use.day = procedures.day
        and online_use.procedure_code = procedures.procedure_code
    group by procedures.agency_code, procedures.day
),

final as (
    select
        catalogue.*,
        {{ safe_rate('procedures_online', 'procedures_total') }} as online_coverage_rate,
        {{ safe_rate('procedures_eligible_offered_full_process', 'procedures_eligible_full_process') }}
            as full_process_rate,
        {{ safe_rate('procedures_online_used', 'procedures_online') }} as online_uptake_rate
    from catalogue
    inner join {{ ref('stg_validated_partitions') }} as validated
        on validated.agency_code = catalogue.agency_code
        and validated.day = catalogue.day
)

select * from final

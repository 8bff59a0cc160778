{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='agency_periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Each agency's KPI measures per day and per calendar month (as reported, "as was"), with the
-- number of validated days behind each figure, the number of days the agency reports in the
-- period (a month still open or with a day missing has fewer behind it), and whether the open
-- stock is known on every one of them (int_agency_days).
--
-- Incremental: each restated agency's periods from the one that holds its restated day (its
-- days from then, and the whole months from its month: a month's figures need all its days),
-- replacing the rows it had there (macros/incremental_builds.sql).
with daily as (
    select * from {{ ref('int_kpi_agency_daily') }}
),

periods as (
    select * from (
        select agency_code, day, 'day' as period, day as period_start, day as period_end
        from daily
        union all
        select agency_code, day, 'month', cast(date_trunc('month', day) as date), last_day(day)
        from daily
    ) as periods
    where {{ in_restated_range('periods') }}
),

dossier_measures as (
    select
        periods.agency_code,
        periods.period,
        periods.period_start,
        any_value(periods.period_end) as period_end,
        cast(count(*) as bigint) as agency_days_reported,
        bool_and(coverage.stocks_complete) as stocks_complete,
        max(periods.day) as last_reported_day,
        {% for column in flow_measures() %}
        cast(sum(daily.{{ column }}) as bigint) as {{ column }},
        {% endfor %}
        {% for column in opening_stock_measures() %}
        arg_min(daily.{{ column }}, daily.day) as {{ column }},
        {% endfor %}
        {% for column in closing_stock_measures() %}
        arg_max(daily.{{ column }}, daily.day) as {{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from periods
    inner join daily
        on daily.agency_code = periods.agency_code
        and daily.day = periods.day
    inner join {{ ref('int_agency_days') }} as coverage
        on coverage.agency_code = periods.agency_code
        and coverage.day = periods.day
    group by periods.agency_code, periods.period, periods.period_start
),

expected as (
    -- The days the agency reports in each period being built (a day: that day).
    select
        measures.agency_code,
        measures.period,
        measures.period_start,
        cast(count(*) as bigint) as agency_days_expected
    from (select distinct agency_code, period, period_start, period_end from dossier_measures) as measures
    inner join {{ ref('int_agency_days') }} as coverage
        on coverage.agency_code = measures.agency_code
        and coverage.day between measures.period_start and measures.period_end
    group by measures.agency_code, measures.period, measures.period_start
),

procedures as (
    select * from {{ ref('stg_procedures') }}
),

period_catalogue as (
    -- The catalogue on each period's last reported day (only the days being built are read):
    -- narrowed first, so that no join below meets a year of daily catalogues (joined to the
    -- procedures used, they made 27 million rows on a year at 0.01 when nothing was rebuilt).
    select procedures.*
    from procedures
    inner join (select distinct agency_code, last_reported_day from dossier_measures) as needed
        on needed.agency_code = procedures.agency_code
        and needed.last_reported_day = procedures.day
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
        ) as procedures_eligible_offered_full_process
    from period_catalogue as procedures
    group by procedures.agency_code, procedures.day
),

online_used as (
    -- Procedures online at the end of the period that received an online dossier during it.
    select
        periods.agency_code,
        periods.period,
        periods.period_start,
        count(distinct used.procedure_code) as procedures_online_used
    from periods
    inner join {{ ref('int_online_procedure_use') }} as used
        on used.agency_code = periods.agency_code
        and used.day = periods.day
    inner join dossier_measures
        on dossier_measures.agency_code = periods.agency_code
        and dossier_measures.period = periods.period
        and dossier_measures.period_start = periods.period_start
    inner join period_catalogue as procedures
        on procedures.agency_code = used.agency_code
        and procedures.day = dossier_measures.last_reported_day
        and procedures.procedure_code = used.procedure_code
        and procedures.online_level in ('full_process', 'partial')
    group by periods.agency_code, periods.period, periods.period_start
),

final as (
    select
        dossier_measures.* exclude (last_reported_day),
        expected.agency_days_expected,
        {% for column in catalogue_measures() if column != 'procedures_online_used' %}
        catalogue.{{ column }},
        {% endfor %}
        case when catalogue.agency_code is not null
            then coalesce(online_used.procedures_online_used, 0)
        end as procedures_online_used,
        {{ build_stamp() }} as built_at
    from dossier_measures
    left join catalogue
        on catalogue.agency_code = dossier_measures.agency_code
        and catalogue.day = dossier_measures.last_reported_day
    inner join expected
        on expected.agency_code = dossier_measures.agency_code
        and expected.period = dossier_measures.period
        and expected.period_start = dossier_measures.period_start
    left join online_used
        on online_used.agency_code = dossier_measures.agency_code
        and online_used.period = dossier_measures.period
        and online_used.period_start = dossier_measures.period_start
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- 766-style points per agency and period for the groups this data supports (handling
-- progress, online service provision, online payment), and a rank among ministries and among
-- provinces. Each item: points = max if rate ≥ threshold, else rate / threshold × max; an item
-- without a rate (zero denominator) earns nothing and is left out of points_possible.
-- Rules and thresholds: seeds/kpi_score_rules.csv.
--
-- Incremental: the periods from the one holding the earliest day restated since this table's
-- last build, whole (a rank is within a period), read from the marts built from them in the
-- same run (macros/incremental_builds.sql).
with rules as (
    select * from {{ ref('kpi_score_rules') }}
),

rates_all as (
    select
        processed.period, processed.period_start, processed.geography, processed.agency_code,
        'on_time_rate' as metric, processed.on_time_rate as rate
    from {{ ref('kpi_processed_records') }} as processed
    union all
    select period, period_start, geography, agency_code, 'online_coverage_rate', online_coverage_rate
    from {{ ref('kpi_service_coverage') }}
    union all
    select period, period_start, geography, agency_code, 'full_process_rate', full_process_rate
    from {{ ref('kpi_service_coverage') }}
    union all
    select period, period_start, geography, agency_code, 'online_dossier_rate', online_dossier_rate
    from {{ ref('kpi_transaction_volumes') }}
    union all
    select period, period_start, geography, agency_code, 'online_payment_rate', online_payment_rate
    from {{ ref('kpi_transaction_volumes') }}
),

rates as (
    select * from rates_all where {{ in_restated_range('rates_all') }}
),

items as (
    select
        rates.*,
        rules.group_code,
        rules.max_points,
        -- Rounded once per item to a fixed scale: DECIMAL sums are exact, so the totals below
        -- do not depend on the order the threads add the items in (byte-identical reruns).
        cast(case
            when rates.rate is null then null
            when rates.rate >= rules.threshold then rules.max_points
            else rates.rate / rules.threshold * rules.max_points
        end as decimal(18, 6)) as points
    from rates
    inner join rules on rules.metric = rates.metric
),

groups as (
    select
        period,
        period_start,
        geography,
        agency_code,
        -- Exact sums, published as DOUBLE (each the nearest double to an exact decimal).
        cast(sum(points) filter (where group_code = 'handling_progress') as double) as points_handling_progress,
        cast(sum(points) filter (where group_code = 'online_service') as double) as points_online_service,
        cast(sum(points) filter (where group_code = 'online_payment') as double) as points_online_payment,
        cast(sum(points) as double) as points_total,
        cast(sum(max_points) filter (where points is not null) as bigint) as points_possible,
        -- millionths of a point, an exact integer: see score_rate
        cast(sum(points) * 1000000 as bigint) as micro_points_total
    from items
    group by period, period_start, geography, agency_code
),

keyed as (
    select
        {% for column in kpi_key_columns() %}processed.{{ column }}, {% endfor %}
        groups.* exclude (period, period_start, geography, agency_code, micro_points_total),
        -- One division of two exact integers, so equal fractions give the same double and tie
        -- in the rank: 0.3 of 24 and 0.25 of 20 would not, with 0.3 a double.
        {{ safe_rate('groups.micro_points_total', 'groups.points_possible * 1000000') }} as score_rate
    from groups
    inner join {{ ref('kpi_processed_records') }} as processed
        on processed.period = groups.period
        and processed.period_start = groups.period_start
        and processed.geography = groups.geography
        and processed.agency_code = groups.agency_code
),

final as (
    select
        *,
        -- Competition ranking: equal score_rates share a rank and the next rank is skipped
        -- (1, 1, 3). A tie is an exact tie of points_total / points_possible (see score_rate).
        case when agency_level in ('ministry', 'province') and score_rate is not null then
            rank() over (
                partition by period, period_start, geography, agency_level,
                    agency_level in ('ministry', 'province') and score_rate is not null
                order by score_rate desc
            )
        end as rank_in_level
    from keyed
)

select * from final

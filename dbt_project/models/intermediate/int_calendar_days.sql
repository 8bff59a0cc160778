-- Every day from 2019 to 2027 with whether government offices work (not a weekend, not a public
-- holiday, Tết included, per reference/vn_public_holidays.csv) and a running count of working
-- days, so that handling times in working days are one subtraction.
with days as (
    select cast(generate_series as date) as day
    from generate_series(date '2019-01-01', date '2027-12-31', interval 1 day)
),

holidays as (
    select cast(date as date) as day, name_vi, name_en
    from {{ ref('vn_public_holidays') }}
),

flags as (
    select
        days.day,
        holidays.name_vi as holiday_name_vi,
        holidays.name_en as holiday_name_en,
        isodow(days.day) <= 5 and holidays.day is null as is_working_day
    from days
    left join holidays on holidays.day = days.day
),

final as (
    select
        *,
        sum(case when is_working_day then 1 else 0 end) over (order by day) as working_day_number
    from flags
)

select * from final

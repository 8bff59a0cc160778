-- Weekends, Tết 2025 (28 Jan – 3 Feb) and National Day are not working days; an ordinary
-- Tuesday is. Returns the days where the calendar disagrees.
with expected (day, is_working_day) as (
    values
        (date '2025-01-04', false),
        (date '2025-01-29', false),
        (date '2025-09-02', false),
        (date '2025-03-04', true)
)

select expected.*
from expected
inner join {{ ref('int_calendar_days') }} as calendar on calendar.day = expected.day
where calendar.is_working_day != expected.is_working_day

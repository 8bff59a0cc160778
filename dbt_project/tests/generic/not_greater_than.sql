{#- A numerator never exceeds its denominator: `column` <= `other` on every row. -#}
{% test not_greater_than(model, column_name, other) %}
select *
from {{ model }}
where {{ column_name }} > {{ other }}
{% endtest %}

{#- A rate is NULL (no denominator) or within [0, 1]. -#}
{% test rate_in_unit_interval(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and ({{ column_name }} < 0 or {{ column_name }} > 1)
{% endtest %}

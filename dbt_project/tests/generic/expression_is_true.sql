{#-
    Fails for every row where `expression` is false. On a column, the expression is applied to
    it (`expression: ">= 0"`); on a model, it is a whole predicate (`expression: "a <= b"`).
    Rows where the expression is null pass: nulls are the business of `not_null`.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})

{% endtest %}

{#-
    The order-date window of a daily-partitioned model.

    Daily models are rebuilt one window at a time: the environment variables PLATFORM_WINDOW_START
    and PLATFORM_WINDOW_END (ISO dates, the end exclusive) select the order dates [start, end).
    Unset or empty, or on a full refresh, the window is every date. Incremental runs first delete
    their window from the table (`delete_daily_window` as a pre_hook), then append what the model
    computes for it, so a day whose orders all disappeared ends up with no rows.

    The window comes in environment variables, not vars: dbt re-parses the whole project whenever
    a var changes (seconds per run, as every partition has its own window), but only the files
    that read an environment variable when its value changes.
-#}

{% macro daily_window() %}
    {%- set min_date = env_var('PLATFORM_WINDOW_START', '') -%}
    {%- set max_date = env_var('PLATFORM_WINDOW_END', '') -%}
    {%- set min_date = none if min_date == '' else min_date -%}
    {%- set max_date = none if max_date == '' else max_date -%}
    {%- if (min_date is none) != (max_date is none) -%}
        {{ exceptions.raise_compiler_error(
            "PLATFORM_WINDOW_START and PLATFORM_WINDOW_END must be given together, got "
            ~ min_date ~ " and " ~ max_date) }}
    {%- endif -%}
    {%- if min_date is none or should_full_refresh() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for value in (min_date, max_date) -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
            {{ exceptions.raise_compiler_error(
                "PLATFORM_WINDOW_START and PLATFORM_WINDOW_END must be ISO dates (YYYY-MM-DD), got "
                ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if min_date >= max_date -%}
        {{ exceptions.raise_compiler_error(
            "PLATFORM_WINDOW_START (" ~ min_date ~ ") must be before PLATFORM_WINDOW_END ("
            ~ max_date ~ ")") }}
    {%- endif -%}
    {{ return({'min_date': min_date, 'max_date': max_date}) }}
{% endmacro %}


{#- A predicate on `column` (a DATE) selecting the window; `true` when the window is every date. -#}
{% macro daily_window_filter(column) %}
    {%- set window = daily_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {{ column }} >= date '{{ window.min_date }}' and {{ column }} < date '{{ window.max_date }}'
    {%- endif -%}
{% endmacro %}


{#-
    pre_hook of a daily incremental model: on an incremental run, delete the rows of the window
    (every row when the window is every date) before the window is appended again.
-#}
{% macro delete_daily_window(column) %}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ daily_window_filter(column) }}
    {%- endif -%}
{% endmacro %}

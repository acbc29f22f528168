{#-
    Use a model's custom schema as-is (`gold`, not `<target schema>_gold`); models without one
    land in the target's schema.

    Write, audit, publish: the platform builds and tests the marts in a working copy, the schema
    PLATFORM_GOLD_BUILD_SCHEMA names (`gold_audit`), and copies into `gold` only the marts whose
    tests passed (data_platform/assets/gold_publish.py). Unset (dbt run by hand), marts are built
    in `gold` itself.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set build_schema = env_var('PLATFORM_GOLD_BUILD_SCHEMA', '') -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif build_schema != '' and custom_schema_name | trim == 'gold' -%}
        {{ build_schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

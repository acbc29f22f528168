{#-
    Personal data never reaches gold in clear. The entity contracts classify every silver column
    (`meta.classification` in the generated `models/staging/_silver__sources.yml`) and give each
    `pii` column a treatment (`meta.gold_treatment`); a staging model selects such a column as
    `{{ for_gold('customer', 'c_name') }} as c_name` (any other column passes through as it is),
    and gold carries the treated value:

    - `pseudonym`: the first 16 hex digits of sha256(salt || value). The same value has the same
      pseudonym in every mart and every run, so a person is still one row and marts still join;
      without the salt nobody can compute the pseudonym of a guessed name.
    - `mask`: every letter and digit replaced by `*`; only the value's shape remains.

    The salt is a DuckDB variable, set on each of dbt's connections by the platform's dbt-duckdb
    plugin (`data_platform/resources/dbt_privacy.py`) from dbt's profile: it is never in the SQL
    dbt compiles, logs and keeps in its target folder. Without it, a pseudonym is an error.
-#}

{% macro for_gold(source_table, column) %}
    {%- if not execute -%}
        {{ return(column) }}
    {%- endif -%}
    {%- set source = graph.sources.get('source.' ~ project_name ~ '.silver.' ~ source_table) -%}
    {%- if source is none or column not in source.columns -%}
        {{ exceptions.raise_compiler_error(
            "for_gold: silver." ~ source_table ~ " has no column " ~ column) }}
    {%- endif -%}
    {%- set treatment = source.columns[column].meta.get('gold_treatment') -%}
    {%- if treatment is none -%}
        {{ column }}
    {%- elif treatment == 'pseudonym' -%}
        {{ pseudonym(column) }}
    {%- elif treatment == 'mask' -%}
        {{ mask(column) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "for_gold: unknown treatment " ~ treatment ~ " of silver." ~ source_table ~ "."
            ~ column) }}
    {%- endif -%}
{% endmacro %}


{#-
    `pseudonym_salt` is the variable the plugin sets. The check is around the hash, not in it:
    inside it, DuckDB folds a missing salt into a NULL pseudonym without evaluating the check.
-#}
{% macro pseudonym(column) %}
    case
        when coalesce(getvariable('pseudonym_salt'), '') = ''
            then error('no pseudonym salt: set PLATFORM_PSEUDONYM_SALT (docs/configuration.md)')
        else left(sha256(getvariable('pseudonym_salt') || {{ column }}), 16)
    end
{%- endmacro %}


{% macro mask(column) %}
    regexp_replace({{ column }}, '[\pL\pN]', '*', 'g')
{%- endmacro %}

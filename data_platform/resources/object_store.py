"""Object-store options: the `AWS_*` variables, in the shape each client takes them.

dagster-deltalake's `S3Config` (the lake IO manager), delta-rs's storage options (the lake's upkeep
and readers), s3fs (the landing zone) and DuckDB's S3 secret (gold's reads of silver) each name the
same settings differently; they are translated here, from one set of variables.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import dagster as dg
from dagster_deltalake import LocalConfig, S3Config

S3_VARIABLES = {
    "endpoint": "AWS_ENDPOINT_URL",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "region": "AWS_REGION",
}


def is_s3_url(location: str) -> bool:
    return location.startswith(("s3://", "s3a://"))


def s3_settings() -> dict[str, str | dg.EnvVar]:
    """The AWS_* variables that are set, by S3Config's field names (delta-rs takes them too)."""
    return {field: dg.EnvVar(var) for field, var in S3_VARIABLES.items() if os.environ.get(var)}


def storage_config(location: str) -> S3Config | LocalConfig:
    """dagster-deltalake's storage config for a location: S3 from the AWS_* variables, or local."""
    return S3Config.model_validate(s3_settings()) if is_s3_url(location) else LocalConfig()


def fsspec_options(storage: S3Config | LocalConfig) -> dict[str, Any]:
    """s3fs's names for the S3 settings that are set."""
    if not isinstance(storage, S3Config):
        return {}
    named = {
        "endpoint_url": storage.endpoint,
        "key": storage.access_key_id,
        "secret": storage.secret_access_key,
        "token": storage.token,
    }
    options: dict[str, Any] = {name: value for name, value in named.items() if value}
    if storage.region:
        # botocore itself reads AWS_DEFAULT_REGION, not AWS_REGION
        options["client_kwargs"] = {"region_name": storage.region}
    return options


def duckdb_s3_secret() -> dict[str, str]:
    """What DuckDB's S3 secret is built from (dbt's profile reads these variables): the endpoint
    as host:port, and whether it speaks TLS; an unset endpoint means AWS itself."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    parsed = urlparse(endpoint) if endpoint else None
    return {
        "PLATFORM_S3_ENDPOINT": parsed.netloc if parsed else "s3.amazonaws.com",
        "PLATFORM_S3_USE_SSL": "false" if parsed and parsed.scheme == "http" else "true",
        # a custom endpoint (MinIO, moto, R2) addresses buckets by path, AWS by virtual host
        "PLATFORM_S3_URL_STYLE": "path" if parsed else "vhost",
        "PLATFORM_S3_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "PLATFORM_S3_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "PLATFORM_S3_SECRET": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
    }

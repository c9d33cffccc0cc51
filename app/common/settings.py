"""The app's settings: a YAML file, with environment variables over it, read once at start.

Two sources, one schema (`Settings` below):
- the file `$ROADIE_APP_CONFIG`: on a host the whole of it, rendered by Ansible (role `app`);
  on Kubernetes the ConfigMap's `app.yml` (k8s/configmap.yaml, filled by the Pulumi program),
  which holds everything but the secrets;
- variables `ROADIE_APP__<PATH>` (`app.common.env_overlay`): `ROADIE_APP__POSTGRES__PASSWORD`
  sets `postgres.password`. On Kubernetes the Secret `roadie-app` gives the passwords and tokens
  (`SECRET_SETTINGS`) and the downward API the node's name (`ROADIE_APP__NODE`). A variable
  wins over the file. The lab's hosts set none: their file is complete.

Nothing here has a default that points at real infrastructure or holds a password: a missing
setting fails the start with the name of the setting and of the variable that would set it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.common import env_overlay

CONFIG_ENV = "ROADIE_APP_CONFIG"
ENV_PREFIX = "ROADIE_APP__"
# The settings that are secrets: on Kubernetes they come from the Secret `roadie-app`, never
# from the ConfigMap (k8s/secret.example.yaml lists the variables).
SECRET_SETTINGS: tuple[tuple[str, ...], ...] = (
    ("postgres", "password"),
    ("redis", "password"),
    ("redis", "sentinel_password"),
    ("rabbitmq", "password"),
    ("auth", "operator_token"),
    ("auth", "customer_issuer_key"),
)
# The placeholder of k8s/secret.example.yaml: a Secret applied from the example must not start.
EXAMPLE_SECRET_MARKER = "EXAMPLE-NOT-A-PASSWORD"


def _not_the_example(value: str) -> str:
    if value.startswith(EXAMPLE_SECRET_MARKER):
        raise ValueError("is the placeholder of k8s/secret.example.yaml: create the Secret from the vault")
    return value


Password = Annotated[str, Field(min_length=1), AfterValidator(_not_the_example)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(gt=0, lt=65536)


class PostgresTls(_Strict):
    """How the app verifies PostgreSQL's certificate (libpq's sslmode and sslrootcert): by
    default the server must present a certificate from `root_cert` naming the address dialled."""

    mode: Literal["verify-full", "verify-ca", "disable"] = "verify-full"
    root_cert: Path | None = None

    @model_validator(mode="after")
    def _root_cert_to_verify(self) -> PostgresTls:
        if self.mode != "disable" and self.root_cert is None:
            raise ValueError(f"root_cert (the internal CA's certificate) is required with mode {self.mode}")
        return self


class PostgresSettings(_Strict):
    """PostgreSQL through HAProxy: `primary` (read-write) and `replicas` (read-only) ports."""

    primary: Endpoint
    replicas: Endpoint
    user: str
    password: Password
    tls: PostgresTls
    connect_timeout: int = 3
    primary_pool_max: int = Field(16, ge=1)
    replica_pool_max: int = Field(8, ge=1)
    pool_timeout: float = 10.0
    # A pool retries a failed connection with exponential backoff (1 s, then 2 s, ...) until
    # this many seconds have passed, then starts afresh on the next request. Kept below the
    # first backoff step: after a failover a pool in the middle of a 2 s wait keeps requests
    # waiting after the database is back (measured against a restarted PostgreSQL: 1.0 s
    # median lag at 3 s, 0.4 s at 0.5 s); a booking retried through the outage asks again
    # every tickets.booking_retry_connection_wait_seconds, which starts a new attempt.
    reconnect_timeout: float = Field(0.5, gt=0)
    # A statement that runs longer is cancelled: a stuck lock never pins a pooled connection.
    statement_timeout_ms: int = 5000


class Shard(_Strict):
    """One database of the catalogue; `number` is encoded into the ids it issues.

    In the lab every shard is a database of the one Patroni cluster; in production each shard
    has its own cluster, and so its own HAProxy endpoints (else the global ones apply)."""

    number: int = Field(ge=1, lt=32)
    database: str
    primary: Endpoint | None = None
    replicas: Endpoint | None = None


class City(_Strict):
    id: int = Field(ge=1)
    name: str
    shard: str


class ServerTls(_Strict):
    """How the app verifies a server that serves TLS only and asks the app for no certificate
    (the app still logs in with its user and password): Redis and its Sentinels, RabbitMQ. By
    default the server must present a certificate from `root_cert` (the internal CA's) naming
    the address dialled; plain text only when `enabled` is turned off by name."""

    enabled: bool = True
    root_cert: Path | None = None

    @model_validator(mode="after")
    def _root_cert_to_verify(self) -> ServerTls:
        if self.enabled and self.root_cert is None:
            raise ValueError(
                "root_cert (the internal CA's certificate) is required when enabled: "
                "the server's certificate is verified against it"
            )
        return self


class RedisSettings(_Strict):
    sentinels: list[Endpoint] = Field(min_length=1)
    master_name: str
    sentinel_password: Password
    user: str
    password: Password
    tls: ServerTls
    # Redis is a cache and a session store here: a dead master must cost a request well under a
    # second, not redis-py's default of 3 retries with backoff (seconds) per command.
    socket_timeout: float = Field(default=0.5, gt=0, le=10)


class RabbitSettings(_Strict):
    """RabbitMQ over AMQPS only (TLS, `tls`): the broker's certificate is verified against the
    internal CA and `host`; the app logs in with `user` and `password`."""

    host: str = Field(min_length=1)
    # AMQPS's standard port: the broker has no plain-text listener.
    port: int = 5671
    vhost: str
    user: str
    password: Password
    tls: ServerTls
    exchange: str = "tickets"
    counters_queue: str = "tickets.counters"


class TicketSettings(_Strict):
    hold_minutes_default: int = Field(10, ge=1, le=60)
    cache_ttl_seconds: int = Field(30, ge=1)
    listing_cache_ttl_seconds: int = Field(10, ge=1)
    session_ttl_seconds: int = Field(3600, ge=60)
    # Months of future partitions kept ready, and months after which a past month is archived.
    partitions_ahead_months: int = Field(12, ge=1)
    partitions_keep_months: int = Field(3, ge=1)
    # A booking (it always carries an Idempotency-Key) is re-run by the app while the database
    # has no writable primary, for up to this many seconds after its first attempt; then, or
    # at once when 0, it is answered 503 with Retry-After as any other request. Default: a
    # little above the lab's Patroni ttl (20 s), which bounds a failover's write outage.
    booking_retry_deadline_seconds: float = Field(25.0, ge=0, le=120)
    # Backoff between re-runs: exponential from the first to the longest wait, jittered.
    # The longest wait is also the most a re-run can start late after the primary is back.
    booking_retry_backoff_first_seconds: float = Field(0.05, gt=0, le=5)
    booking_retry_backoff_max_seconds: float = Field(0.5, gt=0, le=5)
    # How long one attempt waits for a pooled connection before it counts as failed and is
    # re-run: short, so each re-run makes the pool try to connect again.
    booking_retry_connection_wait_seconds: float = Field(1.0, gt=0, le=30)

    @model_validator(mode="after")
    def _backoff_within_deadline(self) -> TicketSettings:
        if self.booking_retry_backoff_first_seconds > self.booking_retry_backoff_max_seconds:
            raise ValueError("booking_retry_backoff_first_seconds must not exceed booking_retry_backoff_max_seconds")
        if 0 < self.booking_retry_deadline_seconds < self.booking_retry_backoff_max_seconds:
            raise ValueError("booking_retry_deadline_seconds (0: no retries) must be at least the longest backoff")
        return self


class AuthSettings(_Strict):
    """Who may call what (app.common.auth): the operators' bearer token, and the issuer whose
    signed customer tokens open sessions."""

    operator_token: Password
    customer_issuer: str = Field(min_length=1, max_length=200)
    customer_issuer_key: Password
    customer_audience: str = Field("roadie", min_length=1, max_length=200)
    # A token is still accepted this long past its expiry: the issuer's clock and ours differ a little.
    clock_skew_seconds: int = Field(30, ge=0, le=300)


class TracingSettings(_Strict):
    # OTLP/HTTP traces endpoint, e.g. http://jaeger:4318/v1/traces; empty = tracing export off.
    otlp_endpoint: str = ""
    service_name: str = "roadie-app"
    # Share of traces kept (the parent's decision wins for propagated traces).
    sample_ratio: float = Field(1.0, ge=0, le=1)


class Settings(_Strict):
    node: str
    postgres: PostgresSettings
    shards: dict[str, Shard] = Field(min_length=1)
    cities: list[City] = Field(min_length=1)
    redis: RedisSettings
    rabbitmq: RabbitSettings
    auth: AuthSettings
    tickets: TicketSettings = TicketSettings()
    tracing: TracingSettings = TracingSettings()
    log_level: str = "INFO"
    # The worker's own Prometheus endpoint (0 = none); the web server serves /metrics itself.
    worker_metrics_address: str = "127.0.0.1"
    worker_metrics_port: int = Field(0, ge=0, lt=65536)

    @model_validator(mode="after")
    def _cities_name_known_shards(self) -> Settings:
        unknown = sorted({c.shard for c in self.cities} - set(self.shards))
        if unknown:
            raise ValueError(f"cities refer to unknown shards {unknown}; shards: {sorted(self.shards)}")
        numbers = [s.number for s in self.shards.values()]
        if len(set(numbers)) != len(numbers):
            raise ValueError("every shard needs its own number (it is encoded into ids)")
        ids = [c.id for c in self.cities]
        if len(set(ids)) != len(ids):
            raise ValueError("city ids must be unique")
        return self


class SettingsError(Exception):
    """The configuration is missing or invalid; the message names the setting (and its variable)."""


def secret_variables() -> tuple[str, ...]:
    """The variables the Secret `roadie-app` holds: ROADIE_APP__POSTGRES__PASSWORD, ..."""
    return tuple(env_overlay.env_name(ENV_PREFIX, path) for path in SECRET_SETTINGS)


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of `path` (default `$ROADIE_APP_CONFIG`) with `ROADIE_APP__*` variables of
    `environ` (default: the process environment) over them."""
    env = os.environ if environ is None else environ
    source = Path(path or env.get(CONFIG_ENV, ""))
    if not str(source) or not source.is_file():
        raise SettingsError(f"app configuration not found: set {CONFIG_ENV} to the rendered app.yml (got '{source}')")
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"invalid app configuration {source}: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"invalid app configuration {source}: the file must hold a mapping of settings")
    return settings_from(data, env, str(source))


def settings_from(data: Mapping[str, Any], environ: Mapping[str, str], source: str = "app.yml") -> Settings:
    """`Settings` from file data and variables; `source` names the file in error messages."""
    try:
        given = env_overlay.settings_from_env(Settings, ENV_PREFIX, environ)
    except env_overlay.EnvOverlayError as exc:
        raise SettingsError(f"invalid app configuration: {exc}") from None
    try:
        return Settings.model_validate(env_overlay.apply(data, given))
    except ValidationError as exc:
        from_env = {setting.path: setting.variable for setting in given}
        problems = "; ".join(_problem(error, from_env, source) for error in exc.errors())
        raise SettingsError(f"invalid app configuration {source}: {problems}") from None


def _problem(error: Any, from_env: Mapping[tuple[str, ...], str], source: str) -> str:
    """One validation error: the setting, what is wrong, and where its value came from."""
    location = tuple(error["loc"])
    setting = ".".join(str(part) for part in location) or "settings"
    message = str(error["msg"])
    if error["type"] == "missing":
        return f"{setting}: missing: set it in {source} or as ${env_overlay.env_name(ENV_PREFIX, location)}"
    variable = next((from_env[location[:n]] for n in range(len(location), 0, -1) if location[:n] in from_env), None)
    return f"{setting}: {message}" + (f" (from ${variable})" if variable else "")

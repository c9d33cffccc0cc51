"""Simulator configuration (YAML or JSON; JSON is YAML). Example::

seed: 42
suppliers:
  - name: turkey-direct          # the slow all-inclusive server: 10 calls a minute
    latency_ms: 200
    jitter_ms: 50
    capacity: {calls: 10, per_seconds: 60}
    unavailable_share: 0.5
    max_batch_hotels: 50
    catalogue: {code_prefix: TD-, every: 4, offset: 0}   # sells every 4th hotel, codes TD-000000 ...
  - name: big-wholesaler
    latency_ms: 30
    capacity: {calls: 50, per_seconds: 1}
    error_rate: 0.001
    currency: USD
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.search.directory import Coverage

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class Capacity(BaseModel):
    """At most ``calls`` search calls in any ``per_seconds`` window; more are answered 429."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class Modes(BaseModel):
    """What can be switched at runtime through ``POST /admin/suppliers/{name}/mode``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    all_unavailable: bool = False  # the supplier switched everything off: every hotel "unavailable"
    booking_fails: bool = False  # offers shown as available cannot be booked
    error_rate: Share = 0.0  # share of search calls answered 503
    latency_ms: float = Field(default=50.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)


class SupplierSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    latency_ms: float = Field(default=50.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    capacity: Capacity | None = None
    error_rate: Share = 0.0
    unavailable_share: Share = 0.5
    all_unavailable: bool = False
    booking_fails: bool = False
    max_batch_hotels: int = Field(default=100, ge=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    markup: float = Field(default=1.0, gt=0)
    # The hotels it sells, by its own codes (the rule of the search's hotel directory, which
    # maps its hotels to these codes). A code outside it is still answered (the lab's tests
    # search made-up hotels) but counted as unknown: a search that asks a supplier for a hotel
    # it does not sell, or under our id instead of its code, shows there. None: no catalogue.
    catalogue: Coverage | None = None

    def initial_modes(self) -> Modes:
        return Modes(
            all_unavailable=self.all_unavailable,
            booking_fails=self.booking_fails,
            error_rate=self.error_rate,
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
        )


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    suppliers: tuple[SupplierSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [s.name for s in self.suppliers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"supplier names must be unique (repeated: {', '.join(repeated)})")
        return self

    @classmethod
    def load(cls, path: str | Path) -> SimulatorConfig:
        with Path(path).open(encoding="utf-8") as handle:
            return cls.model_validate(yaml.safe_load(handle))

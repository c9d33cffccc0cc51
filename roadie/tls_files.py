"""Where an environment's internal CA and its hosts' certificates live on the controller.

Apart from roadie/tls.py (which issues them, with `cryptography`) so that what the hosts install
of roadie (the lab's inventory, the backup exporter) does not need that library.
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    """Where an environment's CA and host certificates live on the controller."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def operator_cert(self) -> Path:
        """The operator's client certificate: what the toolkit presents where a service asks
        for one (Patroni's unsafe REST API calls)."""
        return self.directory / "operator.crt"

    @property
    def operator_key(self) -> Path:
        return self.directory / "operator.key"

    def host_cert(self, host: str) -> Path:
        return self.directory / "hosts" / f"{host}.crt"

    def host_key(self, host: str) -> Path:
        return self.directory / "hosts" / f"{host}.key"

"""How the toolkit's PostgreSQL connections verify the server: through libpq's own variables.

PostgreSQL serves TCP clients only over TLS (role patroni: hostssl). Every connection the
toolkit opens (drills, DR, benchmarks, backups, provocations, tests) and every psql or pgbench
it starts goes through libpq, which reads PGSSLMODE and PGSSLROOTCERT from the environment: set
once per process, they make each of those verify the server's certificate against the internal
CA and the address it dialled, without every call site repeating it. Values the operator
exported win (production: the environment's CA from `roadie tls issue`).
"""

import os
from pathlib import Path

SSLMODE = "verify-full"


def require_verified(ca_file: Path) -> None:
    """Make this process's libpq connections verify the server against `ca_file` (unless the
    operator exported other values). A missing file fails each connection with libpq's
    'root certificate file ... does not exist', never with a silent fall back to plain text."""
    os.environ.setdefault("PGSSLMODE", SSLMODE)
    os.environ.setdefault("PGSSLROOTCERT", str(ca_file))

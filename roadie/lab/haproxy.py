"""Reading HAProxy's stats CSV (`/;csv`): which servers of a backend are UP."""

# Columns of HAProxy's CSV stats: proxy name, server name, ..., status (18th).
_PROXY, _SERVER, _STATUS = 0, 1, 17


def up_servers(csv: str, backend: str) -> list[str]:
    """Servers of `backend` whose status is UP, in the order HAProxy lists them."""
    rows = (line.split(",") for line in csv.splitlines() if not line.startswith("#"))
    return [
        row[_SERVER]
        for row in rows
        if len(row) > _STATUS
        and row[_PROXY] == backend
        and row[_SERVER] not in ("FRONTEND", "BACKEND")
        and row[_STATUS].startswith("UP")
    ]

"""The single rich Console of the CLI, with named styles."""

import sys

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "ok": "green",
        "warn": "yellow",
        "bad": "bold red",
        "muted": "dim",
        "title": "bold",
    }
)


def _width(stream: object) -> int | None:
    """Terminals size themselves; pipes and logs get wide lines so nothing wraps mid-word."""
    isatty = getattr(stream, "isatty", None)
    return None if isatty is not None and isatty() else 200


console = Console(theme=THEME, highlight=False, width=_width(sys.stdout))
err_console = Console(theme=THEME, stderr=True, highlight=False, width=_width(sys.stderr), soft_wrap=True)

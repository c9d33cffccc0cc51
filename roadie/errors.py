"""The one error type the CLI shows as a single line (a traceback only with --debug)."""


class RoadieError(Exception):
    """A failure the user can act on; the message says what went wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

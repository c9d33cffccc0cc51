"""Schemathesis explores the ticketing API in the published OpenAPI document: no input makes it
answer 5xx (hotel search, tagged "search", is fuzzed by its own tests).

The coverage phase is left out: on Python 3.11 it intermittently fails inside Hypothesis
("AST constructor recursion depth mismatch") before sending anything, a tool error that says
nothing about the API. Fuzzing and stateful runs (create event, hold, book, cancel) remain."""

import subprocess
import sys
from pathlib import Path


def test_no_generated_request_gets_a_server_error(lb_url, tmp_path):
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{lb_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--workers",
            "2",
            "--include-tag",
            "tickets",
            "--seed",
            "1",
            "--phases",
            "examples,fuzzing,stateful",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]

"""The redis-server binary the unit tests start their own servers with:
`$ROADIE_TEST_REDIS_SERVER`, else the one `make bootstrap` installs (Debian's redis-server, in
scripts/debian-packages.txt). A missing binary fails the test, it never skips it."""

import os
import shutil

import pytest


def redis_server() -> str:
    found = os.environ.get("ROADIE_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not found:
        pytest.fail("no redis-server binary: run `make bootstrap` (it installs Debian's redis-server) "
                    "or set ROADIE_TEST_REDIS_SERVER")  # fmt: skip
    return found

"""The app load balancer's edge (role `loadbalancer`): the limits and size checks its HAProxy
configuration holds come from the inventory variables, and /internal/ is refused before
anything else. (The lab test tests/lab/test_edge_limits.py shows them acting on clients.)"""

import re

import pytest

from tests.unit.observability.role_render import render_template, role_variables

LIMITS = {
    "loadbalancer_stats_password": "s3cret-s3cret-s3cret",
    "loadbalancer_limit_window_seconds": 7,
    "loadbalancer_limit_source_requests": 123,
    "loadbalancer_limit_source_connections": 9,
    "loadbalancer_limit_session_requests": 45,
    "loadbalancer_max_header_bytes": 4096,
    "loadbalancer_max_body_bytes": 20000,
    "loadbalancer_max_headers": 50,
}


def frontend(overrides: dict) -> list[str]:
    text = render_template("loadbalancer", "haproxy.cfg.j2", role_variables("loadbalancer", overrides))
    assert "tune.http.maxhdr 50" in text
    block = text.split("frontend app\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def rule(lines: list[str], pattern: str) -> str:
    found = [line for line in lines if re.search(pattern, line)]
    assert len(found) == 1, (pattern, found)
    return found[0]


def test_every_limit_is_the_inventorys_and_answers_429_with_retry_after():
    lines = frontend(LIMITS)
    assert "store conn_cur,http_req_rate(7s)" in rule(lines, r"^stick-table type ipv6")
    for condition in ("sc0_conn_cur gt 9", "sc0_http_req_rate gt 123", "sc1_http_req_rate gt 45"):
        limited = rule(lines, re.escape(condition))
        assert limited.startswith("http-request return status 429 ") and "hdr Retry-After 7 " in limited
    assert "req.hdrs,length gt 4096" in rule(lines, "status 431")
    assert "req.hdr_val(content-length) gt 20000" in rule(lines, "status 413")
    assert rule(lines, r"^http-request track-sc1").endswith("if { req.hdr(x-session-id) -m found }")


def test_internal_routes_are_refused_before_any_other_rule():
    lines = frontend(LIMITS)
    http_rules = [line for line in lines if line.startswith("http-request")]
    assert http_rules[0].startswith("http-request return status 404 ") and "{ path_beg /internal/ }" in http_rules[0]


@pytest.mark.parametrize("exempt", [[], ["127.0.0.1/32", "10.0.0.0/8"]])
def test_exempt_sources_are_not_tracked(exempt):
    lines = frontend({**LIMITS, "loadbalancer_limit_exempt_sources": exempt})
    track = rule(lines, r"^tcp-request connection track-sc0")
    if exempt:
        assert rule(lines, r"^acl limit_exempt") == "acl limit_exempt src 127.0.0.1/32 10.0.0.0/8"
        assert track.endswith("if !limit_exempt")
        assert rule(lines, r"^http-request track-sc1").endswith("!limit_exempt")
    else:
        assert track == "tcp-request connection track-sc0 src"
        assert not any(line.startswith("acl limit_exempt") for line in lines)


def blocks(text: str) -> dict[str, list[str]]:
    """The configuration's sections by their header line, each as its rule lines."""
    found: dict[str, list[str]] = {}
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
        headers = [i for i, line in enumerate(lines) if re.match(r"^(frontend|backend|listen) ", line)]
        if headers:
            found[lines[headers[0]]] = lines[headers[0] + 1 :]
    return found


def test_the_api_and_the_stats_are_served_over_tls_and_plain_http_only_redirects():
    overrides = {**LIMITS, "loadbalancer_address": "10.1.1.51", "loadbalancer_tls_dir": "/etc/haproxy/tls-lb"}
    sections = blocks(render_template("loadbalancer", "haproxy.cfg.j2", role_variables("loadbalancer", overrides)))
    crt = "ssl crt /etc/haproxy/tls-lb/server.crt"
    assert rule(sections["frontend app"], r"^bind ") == f"bind 10.1.1.51:443 {crt}"
    assert rule(sections["listen stats"], r"^bind ") == f"bind 10.1.1.51:8404 {crt}"
    # The HTTP port answers a redirect and nothing else: no backend, so no node behind it.
    redirect = "http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]{}%[capture.req.uri] code 308"
    assert sections["frontend app_http"] == ["bind 10.1.1.51:80", redirect.format("")]
    # Elsewhere than 443 the redirect names the HTTPS port.
    other = {**overrides, "loadbalancer_https_port": 8443}
    moved = blocks(render_template("loadbalancer", "haproxy.cfg.j2", role_variables("loadbalancer", other)))
    assert moved["frontend app_http"] == ["bind 10.1.1.51:80", redirect.format(":8443")]

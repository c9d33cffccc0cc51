"""The app load balancer terminates TLS (role `loadbalancer`): the API is served over HTTPS only,
with the host's certificate from the lab's CA, verified by the address dialled; the HTTP port
only redirects, so no request reaches a node in plain text; a certificate from another CA is
refused by a client; the stats page (which takes a password) is HTTPS too."""

import socket
import ssl

import httpx
import pytest

from roadie import tls
from roadie.services import internal_tls, registry
from tests.support import lb_client


@pytest.fixture(scope="module")
def lb(lab, running_hosts) -> registry.Service:
    return registry.service(lab.group("lb")[0], "loadbalancer")


def test_the_api_is_served_over_https_verified_by_the_address_dialled(lab, lb):
    assert lb.url("https").startswith("https://")
    with lb_client(lab, timeout=5) as client:
        answer = client.get("/v1/cities")
        assert answer.status_code == 200 and answer.json(), answer.text
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_text_on_the_https_port_gets_no_answer(lb):
    https = lb.endpoint("https")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{https}/v1/cities", timeout=3)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_http_port_only_redirects_to_https(lb, method):
    http, https = lb.endpoint("http"), lb.endpoint("https")
    answer = httpx.request(method, f"http://{http}/v1/events", json={} if method == "POST" else None, timeout=3)
    # 308 keeps the method and body: a client that follows it repeats the request over TLS.
    assert answer.status_code == 308, answer.text
    suffix = "" if https.port == 443 else f":{https.port}"
    assert answer.headers["Location"] == f"https://{https.address}{suffix}/v1/events"
    assert "application/json" not in answer.headers.get("Content-Type", ""), "a node answered in plain text"


def test_the_redirect_drops_the_port_a_client_named(lb):
    http, https = lb.endpoint("http"), lb.endpoint("https")
    answer = httpx.get(f"http://{http}/v1/cities?page=2", headers={"Host": f"{http.address}:{http.port}"}, timeout=3)
    suffix = "" if https.port == 443 else f":{https.port}"
    assert answer.headers["Location"] == f"https://{https.address}{suffix}/v1/cities?page=2"


def test_a_certificate_from_another_ca_is_refused(lb, tmp_path):
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.ensure_ca(other, "other")
    foreign = ssl.create_default_context(cafile=str(other.ca_cert))
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(lb.url("https", "/healthz"), timeout=3, verify=foreign)


def test_the_certificate_names_the_address_not_any_other(lb):
    """Dialled by a name the certificate does not carry, the client refuses it."""
    https = lb.endpoint("https")
    context = internal_tls.http_verify()
    with (
        pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|doesn.t match"),
        socket.create_connection((https.address, https.port), timeout=3) as raw,
    ):
        context.wrap_socket(raw, server_hostname="not-the-lb.example")


def test_the_stats_page_is_https_only_and_needs_the_password(lb, lab_secrets):
    url = lb.url("stats", "/metrics")
    assert url.startswith("https://")
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https://", "http://", 1), timeout=3)
    assert httpx.get(url, timeout=3, verify=internal_tls.http_verify()).status_code == 401
    answer = httpx.get(url, auth=("stats", lab_secrets["lb_stats"]), timeout=3, verify=internal_tls.http_verify())
    assert answer.status_code == 200 and "haproxy_server_status" in answer.text

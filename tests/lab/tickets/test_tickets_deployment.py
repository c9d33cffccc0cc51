"""The deployment: nodes bound to their own address, stateless behind the load balancer,
health endpoints, protected LB metrics, and a failed node taken out and put back."""

import httpx
import pytest

from roadie.lab import hosts
from roadie.services import internal_tls
from tests.support import lb_url, manifest, wait_until


def test_each_node_listens_on_its_own_address_only(lab, app_nodes):
    host = lab.group("app")[0]
    port = manifest(host, "app")["ports"]["http"]
    assert httpx.get(f"{app_nodes[host.name]}/healthz", timeout=3).json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=3)


def test_every_node_is_ready_and_exports_metrics_to_the_operator_only(app_nodes, operator):
    for url in app_nodes.values():
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"{url}/metrics", timeout=5).status_code == 401
        metrics = httpx.get(f"{url}/metrics", headers=operator, timeout=5).text
        assert "roadie_http_request_duration_seconds_bucket" in metrics
        assert "roadie_db_pool_connections" in metrics


def test_a_session_made_on_one_node_works_on_another(app_nodes, new_event, api):
    first, second = list(app_nodes.values())[:2]
    with httpx.Client(base_url=first, timeout=5) as client:
        session = api.open_session(client, "bob@example.org")
    event, seats = new_event()
    hold = httpx.post(
        f"{second}/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[0]]}, headers=session, timeout=5
    )
    assert hold.status_code == 201, hold.text
    unknown = httpx.post(
        f"{second}/v1/holds",
        json={"event_id": event["id"], "seat_ids": [seats[1]]},
        headers={"X-Session-Id": "nope"},
        timeout=5,
    )
    assert unknown.status_code == 401


def lb_stats(lab, lab_secrets):
    return lb_url(lab, "stats") + "/metrics", ("stats", lab_secrets["lb_stats"])


def servers_up(lab, lab_secrets):
    url, auth = lb_stats(lab, lab_secrets)
    text = httpx.get(url, auth=auth, timeout=3, verify=internal_tls.http_verify()).text
    return {
        line.split('server="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("haproxy_server_status{")
        and 'proxy="app_nodes"' in line
        and 'state="UP"' in line
        and line.endswith(" 1")
    }


def test_load_balancer_metrics_need_credentials(lab, lab_secrets):
    url, _ = lb_stats(lab, lab_secrets)
    assert httpx.get(url, timeout=3, verify=internal_tls.http_verify()).status_code == 401
    assert servers_up(lab, lab_secrets) == {h.name for h in lab.group("app")}


def test_a_failed_node_is_taken_out_and_put_back(lab, lab_secrets, client):
    victim = lab.group("app")[-1]
    hosts.systemctl(victim, "stop", "roadie-app")
    try:
        wait_until(lambda: victim.name not in servers_up(lab, lab_secrets), 15, f"{victim.name} taken out")
        answers = [client.get("/v1/cities").status_code for _ in range(30)]
        assert answers == [200] * 30
    finally:
        hosts.systemctl(victim, "start", "roadie-app")
    wait_until(lambda: victim.name in servers_up(lab, lab_secrets), 30, f"{victim.name} back in")


def test_reads_are_retried_on_another_node_while_a_node_dies(lab, lab_secrets, client):
    """Between the node's death and its check, GETs still succeed: HAProxy retries them."""
    victim = lab.group("app")[0]
    hosts.systemctl(victim, "stop", "roadie-app")
    try:
        answers = [client.get("/v1/cities").status_code for _ in range(30)]
        assert answers == [200] * 30
    finally:
        hosts.systemctl(victim, "start", "roadie-app")
    wait_until(lambda: victim.name in servers_up(lab, lab_secrets), 30, f"{victim.name} back in")

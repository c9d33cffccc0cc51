"""The app's production path, at pod level: its image, run by `podman kube play` from the real
Deployment (k8s/deployment.yaml) with the ConfigMap the Pulumi program renders (here with the
lab's endpoints) and a Secret holding the lab's passwords, against the lab's data tier.

What podman changes is `roadie.k8s.podplay.OVERRIDES` (image, one replica, the listen address,
no ports and probes); HPA, PDB, topology spread and the Service are not exercised here (tests/k8s
validates them). The pod listens on its own loopback address of the host network.
"""

import subprocess
import uuid

import httpx
import pytest
import yaml

from roadie.k8s import podplay
from roadie.k8s.image import LISTEN_ADDRESS_ENV, image_names
from roadie.paths import project_root
from tests import support
from tests.lab.search.conftest import hotels, search_body
from tests.lab.tickets.conftest import event_body

BUILD_SCRIPT = project_root() / "scripts" / "build-app-image.sh"


@pytest.fixture(scope="module")
def app_image():
    """Built, or reused when nothing changed: the same script as `make image`."""
    done = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=1800)
    assert done.returncode == 0, f"{BUILD_SCRIPT} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert f"image: {' '.join(image_names())}" in done.stdout
    return image_names()[0]


@pytest.fixture(scope="module")
def pod(lab, running_hosts, app_image, tmp_path_factory):
    podplay.check_address_free(lab, podplay.POD_ADDRESS, podplay.APP_PORT)
    documents, secret = podplay.lab_documents(lab)
    directory = tmp_path_factory.mktemp("app-pod")
    url = f"http://{podplay.POD_ADDRESS}:{podplay.APP_PORT}"
    try:
        run = podplay.play(directory, documents, secret, url)
        print(f"\npod {run.pod} ready in {run.seconds_to_ready:.1f}s on {url}")
        yield run
    finally:
        podplay.remove(directory)


@pytest.fixture(scope="module")
def pod_client(pod):
    with httpx.Client(base_url=pod.url, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def lb_client(lab, running_hosts):
    with support.lb_client(lab, timeout=15) as client:
        yield client


def deployment_manifest() -> dict:
    return yaml.safe_load((project_root() / "k8s" / podplay.DEPLOYMENT_FILE).read_text())


def test_the_pod_runs_as_the_deployments_non_root_user(pod):
    context = deployment_manifest()["spec"]["template"]["spec"]["securityContext"]
    assert context["runAsNonRoot"] is True
    # Read from the running process, not from the spec podman was given.
    assert podplay.container_user(pod.container) == f"{context['runAsUser']}:{context['runAsGroup']}" == "10001:10001"


def test_the_readiness_probe_path_answers_200(pod, pod_client):
    answer = pod_client.get(podplay.readiness_path())
    assert answer.status_code == 200, answer.text
    assert answer.json()["ready"] is True
    assert set(answer.json()["checks"].values()) == {"ok"}


def test_the_pod_is_a_node_named_after_itself_listening_on_its_own_address(pod):
    # ROADIE_APP__NODE comes from the downward API (metadata.name) into the app's settings.
    log = podplay.logs(pod.container)
    assert f"app started on {pod.pod}" in log
    assert f"Uvicorn running on {pod.url}" in log, f"{LISTEN_ADDRESS_ENV} is not where uvicorn listens"


def test_the_root_filesystem_is_read_only_and_tmp_is_writable(pod):
    def attempt(path: str) -> int:
        probe = f"touch {path}/roadie-probe && rm {path}/roadie-probe"
        argv = ["podman", "exec", pod.container, "/bin/sh", "-c", probe]
        return subprocess.run(argv, capture_output=True, check=False).returncode

    assert attempt("/opt/roadie-app") != 0
    assert attempt("/etc/roadie-app") != 0
    assert attempt("/tmp") == 0


def test_a_booking_through_the_pod_is_the_platforms(pod_client, lb_client, api, operator):
    # The pod's Secret carries the lab's operator token and issuer key: the lab's credentials work.
    session_id = api.open_session(pod_client, "pod@example.org")["X-Session-Id"]
    event = pod_client.post("/v1/events", json=event_body(rows=1, seats_per_row=4), headers=operator)
    assert event.status_code == 201, event.text
    seats = [seat["id"] for seat in pod_client.get(f"/v1/events/{event.json()['id']}/seats").json()["seats"]]
    hold = pod_client.post(
        "/v1/holds", json={"event_id": event.json()["id"], "seat_ids": seats[:2]}, headers={"X-Session-Id": session_id}
    )
    assert hold.status_code == 201, hold.text

    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key, "X-Session-Id": session_id}
    booking = pod_client.post("/v1/bookings", json={"hold_id": hold.json()["id"]}, headers=headers)
    assert booking.status_code == 201, booking.text
    assert booking.json()["seat_ids"] == seats[:2]
    assert booking.json()["customer"] == "pod@example.org"
    replay = pod_client.post("/v1/bookings", json={"hold_id": hold.json()["id"]}, headers=headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == booking.json()["id"]
    # The lab's own app nodes see it: the pod used the platform's databases, not some other.
    seen = lb_client.get(f"/v1/bookings/{booking.json()['id']}", headers={"X-Session-Id": session_id})
    assert seen.status_code == 200, seen.text
    assert seen.json()["seat_ids"] == seats[:2]


def test_a_search_through_the_pod(pod, pod_client, operator):
    body = search_body(hotels(5, "pod"), suppliers=["fast"], days_ahead=40, nights=2)
    answer = pod_client.post("/v1/search", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()["hotels"]
    assert [hotel["hotel_id"] for hotel in found] == body["hotel_ids"]
    assert any(hotel["offer"] for hotel in found), "the supplier simulator prices some of five hotels"
    stats = pod_client.get("/v1/search/stats", headers=operator).json()
    assert stats["node"] == pod.pod

"""Ask each lab service what role it plays right now (leader, sync standby, master...)."""

import re
from collections.abc import Callable
from typing import Any

import httpx
import redis

from roadie.lab.haproxy import up_servers

TIMEOUT = 2.0
Manifest = dict[str, Any]
Prober = Callable[[Manifest, dict[str, str]], str]


def probe_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    """One short sentence for the status table; errors become the sentence."""
    prober = PROBERS.get(str(manifest.get("kind")))
    if prober is None:
        return ""
    try:
        return prober(manifest, secrets)
    except (httpx.HTTPError, redis.RedisError, OSError, KeyError, ValueError) as exc:
        return f"unreachable ({type(exc).__name__})"


def _port(manifest: Manifest, name: str) -> int:
    return int(manifest["ports"][name])


def etcd_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'client')}"
    token = httpx.post(
        f"{url}/v3/auth/authenticate",
        json={"name": "root", "password": secrets["etcd_root"]},
        timeout=TIMEOUT,
    ).json()["token"]
    status = httpx.post(
        f"{url}/v3/maintenance/status", json={}, headers={"Authorization": token}, timeout=TIMEOUT
    ).json()
    is_leader = status["leader"] == status["header"]["member_id"]
    return "etcd leader" if is_leader else "etcd follower"


def patroni_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'restapi')}"
    me = httpx.get(f"{url}/patroni", timeout=TIMEOUT).json()
    cluster = httpx.get(f"{url}/cluster", timeout=TIMEOUT).json()
    name = me["patroni"]["name"]
    member = next((m for m in cluster["members"] if m["name"] == name), {})
    role = {"leader": "Patroni leader", "sync_standby": "sync standby", "replica": "replica"}.get(
        member.get("role", ""), member.get("role", me.get("role", "?"))
    )
    lag = member.get("lag")
    suffix = f", lag {lag}" if isinstance(lag, int) and lag > 0 else ""
    return f"{role} ({member.get('state', me.get('state'))}, TL {me.get('timeline', '?')}{suffix})"


def haproxy_pg_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'stats')}/;csv"
    csv = httpx.get(url, auth=("stats", secrets["haproxy_stats"]), timeout=TIMEOUT).text
    primary = ", ".join(up_servers(csv, "pg_primary")) or "none"
    replicas = ", ".join(up_servers(csv, "pg_replicas")) or "none"
    return f":{_port(manifest, 'primary')} -> {primary}; :{_port(manifest, 'replicas')} -> {replicas}"


def redis_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    client = redis.Redis(
        host=str(manifest["address"]),
        port=_port(manifest, "redis"),
        username="admin",
        password=secrets["redis_admin"],
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
    )
    role = client.execute_command("ROLE")
    kind = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
    if kind == "master":
        return f"Redis master ({len(role[2])} replicas)"
    state = role[3].decode() if isinstance(role[3], bytes) else str(role[3])
    return f"Redis replica of {role[1].decode() if isinstance(role[1], bytes) else role[1]} ({state})"


def sentinel_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    client = redis.Redis(
        host=str(manifest["address"]),
        port=_port(manifest, "sentinel"),
        password=secrets["sentinel"],
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        decode_responses=True,
    )
    name = str(manifest.get("master_name", "roadie"))
    master = client.execute_command("SENTINEL", "get-master-addr-by-name", name)
    try:
        quorum = client.execute_command("SENTINEL", "ckquorum", name)
        quorum_text = "quorum OK" if str(quorum).startswith("OK") else "NO QUORUM"
    except redis.ResponseError as exc:
        quorum_text = f"NO QUORUM ({str(exc).split('.')[0]})"
    return f"sees master {master[0]}:{master[1]}, {quorum_text}"


def rabbitmq_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'prometheus')}/metrics"
    text = httpx.get(url, timeout=TIMEOUT).text
    match = re.search(r'rabbitmq_identity_info\{[^}]*rabbitmq_cluster="([^"]+)"', text)
    cluster = match.group(1) if match else "?"
    return f"member of cluster {cluster}"


def app_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'http')}/readyz"
    answer = httpx.get(url, timeout=TIMEOUT)
    return "ready" if answer.status_code == 200 else f"not ready ({answer.status_code})"


def loadbalancer_role(manifest: Manifest, secrets: dict[str, str]) -> str:
    url = f"http://{manifest['address']}:{_port(manifest, 'stats')}/;csv"
    csv = httpx.get(url, auth=("stats", secrets["lb_stats"]), timeout=TIMEOUT).text
    up = up_servers(csv, "app_nodes")
    return f":{_port(manifest, 'http')} -> {', '.join(up) or 'no app node'}"


PROBERS: dict[str, Prober] = {
    "app": app_role,
    "loadbalancer": loadbalancer_role,
    "etcd": etcd_role,
    "patroni": patroni_role,
    "haproxy_pg": haproxy_pg_role,
    "redis": redis_role,
    "sentinel": sentinel_role,
    "rabbitmq": rabbitmq_role,
}

"""Ask each lab service what role it plays right now (leader, sync standby, master...)."""

from collections.abc import Callable

import httpx
import redis

from roadie.services import redis as redis_client
from roadie.services.etcd import Etcd
from roadie.services.haproxy import HaproxyStats, up_servers
from roadie.services.patroni import Patroni, http_getter
from roadie.services.rabbitmq import RabbitMQ
from roadie.services.redis import Sentinels
from roadie.services.registry import RegistryError, Service

TIMEOUT = 2.0
ROLE_WORDS = {"leader": "Patroni leader", "sync_standby": "sync standby", "replica": "replica"}
Prober = Callable[[Service, dict[str, str]], str]


def probe_role(service: Service, secrets: dict[str, str]) -> str:
    """One short sentence for the status table; errors become the sentence."""
    prober = PROBERS.get(service.kind)
    if prober is None:
        return ""
    try:
        return prober(service, secrets)
    except (httpx.HTTPError, redis.RedisError, OSError, KeyError, ValueError, RegistryError) as exc:
        return f"unreachable ({type(exc).__name__})"


def etcd_role(service: Service, secrets: dict[str, str]) -> str:
    return "etcd leader" if Etcd(service, secrets["etcd_root"], timeout=TIMEOUT).status().is_leader else "etcd follower"


def patroni_role(service: Service, secrets: dict[str, str]) -> str:
    url = service.url("restapi")
    patroni = Patroni([url], http_getter(TIMEOUT))
    me, cluster = patroni.status(url), patroni.cluster()
    if me is None or cluster is None:
        raise ValueError("Patroni does not answer")
    member = next((m for m in cluster if m.name == me["patroni"]["name"]), None)
    if member is None:
        return f"{me.get('role', '?')} ({me.get('state')}, TL {me.get('timeline', '?')})"
    role = ROLE_WORDS.get(member.role, member.role)
    suffix = f", lag {member.lag}" if member.lag else ""
    return f"{role} ({member.state}, TL {me.get('timeline', '?')}{suffix})"


def haproxy_pg_role(service: Service, secrets: dict[str, str]) -> str:
    csv = HaproxyStats(service, secrets["haproxy_stats"], TIMEOUT).csv()
    primary = ", ".join(up_servers(csv, "pg_primary")) or "none"
    replicas = ", ".join(up_servers(csv, "pg_replicas")) or "none"
    return f":{service.ports['primary']} -> {primary}; :{service.ports['replicas']} -> {replicas}"


def redis_role(service: Service, secrets: dict[str, str]) -> str:
    answer = redis_client.role(redis_client.node(service.endpoint("redis"), secrets["redis_admin"], timeout=TIMEOUT))
    if answer.role == "master":
        return f"Redis master ({answer.replicas} replicas)"
    return f"Redis replica of {answer.master} ({answer.state})"


def sentinel_role(service: Service, secrets: dict[str, str]) -> str:
    sentinels = Sentinels.of([service], secrets["sentinel"], TIMEOUT)
    me = service.endpoint("sentinel")
    master = sentinels.master_seen_by(me)
    try:
        quorum_text = "quorum OK" if sentinels.ckquorum(me).startswith("OK") else "NO QUORUM"
    except redis.ResponseError as exc:
        quorum_text = f"NO QUORUM ({str(exc).split('.')[0]})"
    return f"sees master {master}, {quorum_text}"


def rabbitmq_role(service: Service, secrets: dict[str, str]) -> str:
    return f"member of cluster {RabbitMQ(service, TIMEOUT).cluster() or '?'}"


def app_role(service: Service, secrets: dict[str, str]) -> str:
    answer = httpx.get(service.url("http", "/readyz"), timeout=TIMEOUT)
    return "ready" if answer.status_code == 200 else f"not ready ({answer.status_code})"


def loadbalancer_role(service: Service, secrets: dict[str, str]) -> str:
    up = HaproxyStats(service, secrets["lb_stats"], TIMEOUT).up("app_nodes")
    return f":{service.ports['https']} -> {', '.join(up) or 'no app node'}"


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

"""PostgreSQL over TLS from the internal CA: plain text and a foreign CA are refused, the name
dialled is verified, and the app's, the exporters' and replication's connections are encrypted."""

import psycopg
import pytest

from roadie import tls
from roadie.lab.inventory import inventory_for
from roadie.lab.plan import load_plan
from tests.support import app_conninfo, manifest


def member(lab):
    entry = manifest(lab.group("postgres")[0], "patroni")
    return entry["address"], entry["ports"]["postgresql"]


def balancer(lab):
    entry = manifest(lab.group("pg_lb")[0], "haproxy_pg")
    return entry["address"], entry["ports"]["primary"]


def connect(lab, secrets, address, port, **extra):
    return psycopg.connect(app_conninfo(lab, secrets, address, port, **extra))


@pytest.mark.parametrize("where", [member, balancer], ids=["member", "load balancer"])
def test_plain_text_is_refused(lab, lab_secrets, running_hosts, where):
    address, port = where(lab)
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        connect(lab, lab_secrets, address, port, sslmode="disable")


@pytest.mark.parametrize("where", [member, balancer], ids=["member", "load balancer"])
def test_verified_tls_is_served_directly_and_through_the_load_balancer(lab, lab_secrets, running_hosts, where):
    address, port = where(lab)
    with connect(lab, lab_secrets, address, port) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()").fetchone() == (True,)


def test_a_certificate_from_another_ca_is_refused(lab, lab_secrets, running_hosts, tmp_path):
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.issue(other, inventory_for(load_plan(), lab.profile, lab.root))
    address, port = member(lab)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(lab, lab_secrets, address, port, sslrootcert=str(other.ca_cert))


def test_a_name_the_certificate_does_not_hold_is_refused(lab, lab_secrets, running_hosts):
    """verify-full checks the name dialled: db-1's certificate does not name db-2."""
    address, port = member(lab)
    wrong = lab.group("postgres")[1].name
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        connect(lab, lab_secrets, wrong, port, hostaddr=address)


def test_every_client_connection_and_every_replica_stream_is_encrypted(lab, lab_secrets, running_hosts):
    """On the primary: the app's, the exporters' and the standbys' connections, each over TLS
    (at least one of each, so that an empty list cannot pass). As the superuser: another
    role's client address is hidden from the app's."""
    address, port = balancer(lab)
    query = """
        select coalesce(a.usename, '') || ':' || a.backend_type, s.ssl
        from pg_stat_activity a join pg_stat_ssl s using (pid)
        where a.client_addr is not null
    """
    superuser = {"user": "postgres", "password": lab_secrets["postgres_superuser"]}
    with connect(lab, lab_secrets, address, port, **superuser) as conn:
        rows = conn.execute(query).fetchall()
    kinds = {kind for kind, _ in rows}
    assert {"replicator:walsender", "app:client backend", "exporter:client backend"} <= kinds, rows
    assert [row for row in rows if not row[1]] == [], "plain-text connections on the primary"

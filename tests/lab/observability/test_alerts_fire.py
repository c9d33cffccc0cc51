"""Database alerts fire end to end in the lab: a deadlock and a slow query reach `roadie alerts`.

Both are provoked without touching application data: two sessions deadlock on advisory
locks, and one session sleeps in the app database. Prometheus evaluates the rules,
Alertmanager routes the alerts, the lab's recorder receives them.
"""

import contextlib
import threading

import httpx
import psycopg
import pytest

from roadie.alerts.notifications import read_notifications, recorder_file
from tests.support import manifest, wait_until


@pytest.fixture(scope="module")
def connect(lab, lab_secrets, running_hosts):
    entry = manifest(lab.group("pg_lb")[0], "haproxy_pg")

    def connection() -> psycopg.Connection:
        return psycopg.connect(
            host=entry["address"],
            port=int(entry["ports"]["primary"]),
            user="postgres",
            password=lab_secrets["postgres_superuser"],
            dbname="app",
            connect_timeout=5,
            autocommit=True,
        )

    return connection


def delivered(lab, alertmanager_url: str, alertname: str) -> bool:
    """Active in Alertmanager, and notified to the recorder (a still-firing alert is not re-sent)."""
    active = httpx.get(
        f"{alertmanager_url}/api/v2/alerts", params={"filter": f'alertname="{alertname}"', "active": "true"}, timeout=5
    ).json()
    notified = any(n.alertname == alertname and n.status == "firing" for n in read_notifications(recorder_file(lab)))
    return bool(active) and notified


def provoke_deadlock(connect) -> None:
    with connect() as a, connect() as b:
        a.execute("select pg_advisory_lock(424201)")
        b.execute("select pg_advisory_lock(424202)")
        errors: list[Exception] = []

        def a_waits_for_b() -> None:
            try:
                a.execute("select pg_advisory_lock(424202)")
            except psycopg.errors.DeadlockDetected as exc:
                errors.append(exc)
                a.execute("select pg_advisory_unlock_all()")  # the victim lets the other one through

        pid = a.info.backend_pid
        waiter = threading.Thread(target=a_waits_for_b)
        waiter.start()
        wait_until(
            lambda: (
                b.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone()[0] == "Lock"
            ),
            10,
            "session a to wait for b's lock",
        )
        try:
            b.execute("select pg_advisory_lock(424201)")
        except psycopg.errors.DeadlockDetected as exc:
            errors.append(exc)
            b.execute("select pg_advisory_unlock_all()")
        waiter.join(timeout=10)
        assert errors, "PostgreSQL detected no deadlock"
        for session in (a, b):
            session.execute("select pg_advisory_unlock_all()")


def test_slow_query_and_deadlock_alerts_reach_the_recorder(lab, connect, alertmanager_url):
    sleeper = connect()

    def sleep() -> None:
        with contextlib.suppress(psycopg.errors.QueryCanceled):  # cancelled at the end of the test
            sleeper.execute("select pg_sleep(240)")

    thread = threading.Thread(target=sleep, daemon=True)
    thread.start()
    try:
        provoke_deadlock(connect)
        # deadlocks: one scrape, one evaluation, group_wait 30 s; slow query: 5 s + for 1 m on top
        wait_until(
            lambda: delivered(lab, alertmanager_url, "PostgresDeadlocks"), 180, "PostgresDeadlocks notification", 2
        )
        wait_until(
            lambda: delivered(lab, alertmanager_url, "PostgresSlowQueries"), 240, "PostgresSlowQueries notification", 2
        )
    finally:
        with connect() as admin:
            admin.execute("select pg_cancel_backend(pid) from pg_stat_activity where query = 'select pg_sleep(240)'")
        thread.join(timeout=10)
        sleeper.close()

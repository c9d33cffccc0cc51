"""HAProxy stats CSV: only the named backend's UP servers count."""

from roadie.services.haproxy import up_servers

CSV = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status
pg_primary,FRONTEND,,,,,,,,,,,,,,,,OPEN
pg_primary,db-1,,,,,,,,,,,,,,,,DOWN
pg_primary,db-2,,,,,,,,,,,,,,,,UP
pg_primary,BACKEND,,,,,,,,,,,,,,,,UP
pg_replicas,db-1,,,,,,,,,,,,,,,,UP 1/2
pg_replicas,db-3,,,,,,,,,,,,,,,,MAINT
"""


def test_only_up_servers_of_the_backend_are_listed():
    assert up_servers(CSV, "pg_primary") == ["db-2"]
    assert up_servers(CSV, "pg_replicas") == ["db-1"]
    assert up_servers(CSV, "app_nodes") == []

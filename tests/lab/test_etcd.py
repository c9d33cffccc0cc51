"""etcd: three healthy members, and nothing readable without credentials."""

import httpx

from tests.support import manifest


def client_url(host):
    entry = manifest(host, "etcd")
    return f"http://{entry['address']}:{entry['ports']['client']}"


def token(url, secrets):
    answer = httpx.post(
        f"{url}/v3/auth/authenticate", json={"name": "root", "password": secrets["etcd_root"]}, timeout=3
    )
    return answer.json()["token"]


def test_three_members_all_healthy(lab, running_hosts):
    members = lab.group("etcd")
    assert len(members) == 3
    for host in members:
        health = httpx.get(f"{client_url(host)}/health", timeout=3).json()
        assert health["health"] == "true", host.name


def test_member_list_names_every_inventory_host(lab, lab_secrets, running_hosts):
    url = client_url(lab.group("etcd")[0])
    listed = httpx.post(
        f"{url}/v3/cluster/member/list", json={}, headers={"Authorization": token(url, lab_secrets)}, timeout=3
    ).json()
    assert sorted(m["name"] for m in listed["members"]) == sorted(h.name for h in lab.group("etcd"))


def test_reads_without_credentials_are_refused(lab, running_hosts):
    url = client_url(lab.group("etcd")[0])
    answer = httpx.post(f"{url}/v3/kv/range", json={"key": "L3NlcnZpY2Uv"}, timeout=3)
    assert answer.status_code != 200
    assert "user name is empty" in answer.text


def test_patroni_user_cannot_read_outside_its_prefix(lab, lab_secrets, running_hosts):
    url = client_url(lab.group("etcd")[0])
    patroni_token = httpx.post(
        f"{url}/v3/auth/authenticate",
        json={"name": "patroni", "password": lab_secrets["etcd_patroni"]},
        timeout=3,
    ).json()["token"]
    # base64("/other/") — outside /service/
    answer = httpx.post(
        f"{url}/v3/kv/range", json={"key": "L290aGVyLw=="}, headers={"Authorization": patroni_token}, timeout=3
    )
    assert "permission denied" in answer.text

"""etcd: three healthy members, nothing readable without credentials, and only verified TLS:
clients get HTTPS from the internal CA, peers must present a certificate from it."""

import ssl

import httpx
import pytest

from roadie import tls
from roadie.services import internal_tls, registry


def client_url(host):
    return registry.service(host, "etcd").url("client")


def peer_url(host):
    return registry.service(host, "etcd").url("peer")


def post(url, path, **kwargs):
    return httpx.post(f"{url}{path}", timeout=3, verify=internal_tls.http_verify(), **kwargs)


def token(url, secrets):
    return post(url, "/v3/auth/authenticate", json={"name": "root", "password": secrets["etcd_root"]}).json()["token"]


def test_three_members_all_healthy(lab, running_hosts):
    members = lab.group("etcd")
    assert len(members) == 3
    for host in members:
        health = httpx.get(f"{client_url(host)}/health", timeout=3, verify=internal_tls.http_verify()).json()
        assert health["health"] == "true", host.name


def test_member_list_names_every_inventory_host_at_https_urls(lab, lab_secrets, running_hosts):
    url = client_url(lab.group("etcd")[0])
    listed = post(url, "/v3/cluster/member/list", json={}, headers={"Authorization": token(url, lab_secrets)}).json()
    members = listed["members"]
    assert sorted(m["name"] for m in members) == sorted(h.name for h in lab.group("etcd"))
    for member in members:
        assert all(u.startswith("https://") for u in member["peerURLs"] + member["clientURLs"]), member


def test_reads_without_credentials_are_refused(lab, running_hosts):
    url = client_url(lab.group("etcd")[0])
    answer = post(url, "/v3/kv/range", json={"key": "L3NlcnZpY2Uv"})
    assert answer.status_code != 200
    assert "user name is empty" in answer.text


def test_patroni_user_cannot_read_outside_its_prefix(lab, lab_secrets, running_hosts):
    url = client_url(lab.group("etcd")[0])
    patroni_token = post(
        url, "/v3/auth/authenticate", json={"name": "patroni", "password": lab_secrets["etcd_patroni"]}
    ).json()["token"]
    # base64("/other/") — outside /service/
    answer = post(url, "/v3/kv/range", json={"key": "L290aGVyLw=="}, headers={"Authorization": patroni_token})
    assert "permission denied" in answer.text


def test_plain_http_is_refused_on_both_ports(lab, running_hosts):
    host = lab.group("etcd")[0]
    for url in (client_url(host), peer_url(host)):
        assert url.startswith("https://")
        plain = url.replace("https://", "http://")
        try:
            answer = httpx.get(f"{plain}/version", timeout=3)
        except httpx.HTTPError:
            continue
        assert answer.status_code == 400, (plain, answer.status_code, answer.text)
        assert "etcdserver" not in answer.text


def test_a_certificate_from_another_ca_is_refused(lab, running_hosts, tmp_path):
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.ensure_ca(other, "other")
    foreign = ssl.create_default_context(cafile=str(other.ca_cert))
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{client_url(lab.group('etcd')[0])}/health", timeout=3, verify=foreign)


def test_the_peer_port_requires_a_client_certificate_from_the_ca(lab, running_hosts):
    url = f"{peer_url(lab.group('etcd')[0])}/version"
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=3, verify=internal_tls.http_verify())
    # The control: the same call with a certificate from the CA (the operator's) is served.
    answer = httpx.get(url, timeout=3, verify=internal_tls.http_client())
    assert answer.status_code == 200
    assert "etcdserver" in answer.json()

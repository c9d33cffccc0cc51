"""etcd's v3 HTTP gateway (HTTPS, verified against the internal CA): authenticate as a user,
ask a member for its status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from roadie.services import internal_tls
from roadie.services.registry import Service

TIMEOUT = 2.0
ROOT = "root"


@dataclass(frozen=True)
class MemberStatus:
    """`/v3/maintenance/status` of one member."""

    member_id: str
    leader: str

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader


def client_urls(members: Iterable[Service]) -> list[str]:
    """The client URLs of these registry entries (kind etcd), as etcdctl's --endpoints takes them."""
    return [m.url("client") for m in members]


class Etcd:
    """One etcd member, as `user` (root by default)."""

    def __init__(self, member: Service, password: str, user: str = ROOT, timeout: float = TIMEOUT) -> None:
        self.url = member.url("client")
        self.user = user
        self.password = password
        self.timeout = timeout
        self.verify = internal_tls.verify_for(self.url)

    def _token(self) -> str:
        credentials = {"name": self.user, "password": self.password}
        answer = httpx.post(
            f"{self.url}/v3/auth/authenticate", json=credentials, timeout=self.timeout, verify=self.verify
        )
        answer.raise_for_status()
        return str(answer.json()["token"])

    def status(self) -> MemberStatus:
        answer = httpx.post(
            f"{self.url}/v3/maintenance/status",
            json={},
            headers={"Authorization": self._token()},
            timeout=self.timeout,
            verify=self.verify,
        )
        answer.raise_for_status()
        data = answer.json()
        return MemberStatus(str(data["header"]["member_id"]), str(data["leader"]))

"""Jinja test `host_base_network_holds`: whether a CIDR holds an address (ansible-core has no
ipaddr filter; ansible.utils is a collection the controller does not need otherwise)."""

import ipaddress


def network_holds(network: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


class TestModule:
    def tests(self) -> dict[str, object]:
        return {"host_base_network_holds": network_holds}

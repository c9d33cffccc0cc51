"""The subnet and host address plan of a stack's /16 VPC, mirroring the lab's `127.R.Z.H`.

Per AZ `z` (1..3): public subnet `x.y.z.0/24`, data subnet `x.y.(20+z).0/24` holding the
stateful hosts at fixed addresses `.H` (the lab's role octet), and an app subnet `/19` at
`x.y.(32*z).0` sized for EKS pods, which take their addresses from the VPC (VPC CNI).
Stateful hosts get fixed addresses so Patroni, etcd and Sentinel configs and the Ansible
inventory are known before the instances exist; they live in their own subnets so that pods
and nodes, which take addresses dynamically, can never take one of them first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

SubnetPlan = Callable[[str, int], str]
"""A function of (VPC CIDR, 1-based AZ index) giving that AZ's subnet."""

DATA_SUBNET_OFFSET = 20
APP_SUBNET_STRIDE = 32


def _nth_slash24(vpc_cidr: str, index: int) -> ipaddress.IPv4Network:
    base = ipaddress.IPv4Network(vpc_cidr).network_address
    return ipaddress.IPv4Network(f"{base + index * 256}/24")


def public_subnet(vpc_cidr: str, az: int) -> str:
    """Public subnet of AZ `az` (1-based): load balancers and NAT gateways."""
    return str(_nth_slash24(vpc_cidr, az))


def data_subnet(vpc_cidr: str, az: int) -> str:
    """Data subnet of AZ `az` (1-based): the stateful hosts."""
    return str(_nth_slash24(vpc_cidr, DATA_SUBNET_OFFSET + az))


def app_subnet(vpc_cidr: str, az: int) -> str:
    """App subnet of AZ `az` (1-based): EKS nodes and pods."""
    base = ipaddress.IPv4Network(vpc_cidr).network_address
    return str(ipaddress.IPv4Network(f"{base + APP_SUBNET_STRIDE * az * 256}/19"))


def host_address(vpc_cidr: str, az: int, octet: int, ordinal_in_az: int) -> str:
    """Fixed address of the `ordinal_in_az`-th (0-based) host of a tier in AZ `az`."""
    subnet = ipaddress.IPv4Network(data_subnet(vpc_cidr, az))
    return str(subnet.network_address + octet + ordinal_in_az)

"""The local lab: simulated hosts on loopback addresses, brought up by the Ansible roles."""

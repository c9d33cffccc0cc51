"""The Patroni/PostgreSQL cluster: its leader, faults on the leader's host, switchover."""

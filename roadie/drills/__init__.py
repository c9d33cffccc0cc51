"""Failover drills: a bounded probe workload, a fault injected by an Ansible playbook,
recovery, healing, and a report with measured detection time, RTO and RPO."""

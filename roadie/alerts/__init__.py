"""Alerts in the lab: the local Alertmanager receiver and the notifications it recorded."""

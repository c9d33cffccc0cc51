"""Backups of the Patroni cluster with pgBackRest: run them, report on them, restore them."""

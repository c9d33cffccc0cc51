"""Backup tier: pgBackRest's repository host, writing the repositories into the S3 bucket."""

from __future__ import annotations

from roadie_infra.host_tier import HostTier


class BackupTier(HostTier):
    """One host: pgBackRest allows one repository host per stanza (its instance profile may use
    the backup bucket; the database hosts need none, their WAL goes through this host)."""

    TYPE = "roadie:backup:BackupTier"

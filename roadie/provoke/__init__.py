"""Provocations: a named, bounded, self-healing fault per alert, and the campaign that proves each
alert fires, notifies, resolves and has a runbook that names the cause (`roadie provoke`)."""

"""Runbooks: one Markdown file per alert; their diagnosis steps run against an environment."""

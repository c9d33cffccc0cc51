"""Whole lab hosts and zones: power off, freeze, cut off, and bring them back."""

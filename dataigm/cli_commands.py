"""Registrars of the CLI commands that live outside cli.py."""

from __future__ import annotations

REGISTRARS: list = []

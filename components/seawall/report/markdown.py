"""Markdown helpers shared by every Markdown view."""

from __future__ import annotations


def cell(text: str) -> str:
    """Text for one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")

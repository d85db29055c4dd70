"""Accountability Ledger: the write side and the integrity core (no web, no CLI here)."""

__version__ = "0.1.0"

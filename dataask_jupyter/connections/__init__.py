"""Connectors (one module per family), the URL policy, health and the connection manager."""

from __future__ import annotations

from .health import Backoff, ConnectionHealth, compute_health
from .info import ConnectionInfo, ConnectionList, QueryResult
from .manager import ConnectionManager, TestResult
from .url import MASK, ParsedURL, parse_connection_url

__all__ = [
    "MASK", "Backoff", "ConnectionHealth", "ConnectionInfo", "ConnectionList", "ConnectionManager",
    "ParsedURL", "QueryResult", "TestResult", "compute_health", "parse_connection_url",
]

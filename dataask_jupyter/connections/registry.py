"""Connector family name -> connector instance."""

from __future__ import annotations

from .base import Connector
from .bigquery import BigQueryConnector
from .duckdb import DuckDBConnector
from .mysql import MySQLConnector
from .postgres import PostgresConnector
from .snowflake import SnowflakeConnector
from .sqlite import SQLiteConnector

CONNECTORS: dict[str, Connector] = {
    c.family: c
    for c in (
        DuckDBConnector(), SQLiteConnector(), PostgresConnector(), MySQLConnector(),
        BigQueryConnector(), SnowflakeConnector(),
    )
}


def connector_for(family: str) -> Connector:
    return CONNECTORS[family]

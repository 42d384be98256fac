"""The one place tests (and benches) import the throwaway servers and Dagit stack from.

The dev servers are due to move out of the runtime package (issue 15): when they do, only these
imports change.
"""
from flights_etl.dagit_tools.stack import DagitStack, StackStartError
from flights_etl.stack.ports import free_port
from flights_etl.stack.postgres import PostgresServer
from flights_etl.stack.redis import RedisServer

__all__ = ["DagitStack", "StackStartError", "PostgresServer", "RedisServer", "free_port"]

"""The one place tests import the throwaway servers (devtools/, not part of the installed package)
and the Dagit stack from."""
from devtools.ports import free_port
from devtools.postgres import PostgresServer
from devtools.redis import RedisServer
from flights_etl.dagit_tools.stack import DagitStack, StackStartError

__all__ = ["DagitStack", "StackStartError", "PostgresServer", "RedisServer", "free_port"]

"""Fixtures of the real test servers for the weakness ticket tests."""

from tests.servers.alertmanager import alertmanager_server
from tests.servers.redmine import redmine_server

__all__ = ["alertmanager_server", "redmine_server"]

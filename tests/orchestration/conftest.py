"""A real Prefect server per test session (ketnap's own embedded-server launcher on a free port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prefect.concurrency.services import ConcurrencySlotAcquisitionWithLeaseService
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine

from ketnap.context import use_clock, use_engine
from ketnap.prefect_server import LocalPrefectServer
from tests.support import NOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forget_prefect_services(timeout: float = 15.0) -> None:
    """Deliver what Prefect's process-wide services hold, then drop them.

    The events worker and the tag-concurrency services are one per process and keep the API
    URL of the first server they met. Production talks to one server; these tests start and
    stop several, so they call this whenever they switch servers or stop one.
    """
    EventsWorker.drain_all(timeout=timeout, at_exit=False)
    ConcurrencySlotAcquisitionWithLeaseService.drain_all(timeout=timeout, at_exit=False)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    server = LocalPrefectServer(tmp_path_factory.mktemp("prefect-home"), "127.0.0.1", free_port()).start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield server
        forget_prefect_services()
    server.stop()


@pytest.fixture
def orchestrated(org: Engine, prefect_server: LocalPrefectServer) -> Iterator[Engine]:
    """The demo organisation in a fresh database, with flows pointed at it and at the test server."""
    with use_engine(org), use_clock(NOW):
        yield org

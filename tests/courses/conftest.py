"""A real Prefect server for the course flow tests, for this folder only.

`orchestrated` comes from the orchestration tests; the server is this package's own and is
stopped (and Prefect's process-wide services forgotten) when the folder is done, so the
orchestration tests that check emitted events meet only their own server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from ketnap.prefect_server import LocalPrefectServer
from tests.orchestration.conftest import forget_prefect_services, free_port, orchestrated  # noqa: F401


@pytest.fixture(scope="package")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    forget_prefect_services()
    server = LocalPrefectServer(tmp_path_factory.mktemp("prefect-home-courses"), "127.0.0.1", free_port()).start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
            forget_prefect_services()
    finally:
        server.stop()

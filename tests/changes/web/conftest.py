"""The web fixtures (demo database, signed-in test client) for the issue-8 admin pages."""

from tests.web.conftest import _web_settings, client, demo, demo_template  # noqa: F401 - fixtures

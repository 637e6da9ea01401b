"""The runtime's broker fixtures (fresh routes, agents on threads), shared with the client tests."""

from tests.integration.runtime.conftest import routes, settings, start_agent  # noqa: F401 - pytest fixtures

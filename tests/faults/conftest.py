"""The fault suite: the runtime's fixtures (fresh co-partitioned topics, agents on threads) and the
real broker and store; each scenario asserts `invariants.assert_accounted`."""

from tests.integration.runtime.conftest import routes, settings, start_agent  # noqa: F401 - fixtures

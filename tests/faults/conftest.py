"""The fault suite: the agent fixtures (``tests/helpers/agent_fixtures.py``: fresh co-partitioned
topics, agents on threads) and the real broker and store; each scenario asserts
`invariants.assert_accounted`.

``--long`` (or ``MEDIA_STREAM_FAULTS_LONG=1``): the long profile (the property test's 200
examples instead of 25). The option is known when pytest starts from ``tests/faults`` (or a
path inside it); from elsewhere use the variable."""

import os

import pytest

LONG_ENV = "MEDIA_STREAM_FAULTS_LONG"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", default=False, help="fault suite: the long profile (200 property examples)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--long", default=False):
        os.environ[LONG_ENV] = "1"


def long_profile() -> bool:
    return os.environ.get(LONG_ENV, "") not in ("", "0")

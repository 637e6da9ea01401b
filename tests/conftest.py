import os

pytest_plugins = ["tests.kafka_fixture", "tests.s3_fixture", "tests.helpers.agent_fixtures", "tests.helpers.catalog_fixtures"]

# Agents started by tests (run_agent, `media-stream worker` subprocesses) serve no metrics/health
# port unless a test asks for one: parallel agents would fight over 9400.
os.environ.setdefault("MEDIA_STREAM_OBSERVABILITY__PORT", "0")

pytest_plugins = ["tests.kafka_fixture", "tests.s3_fixture"]

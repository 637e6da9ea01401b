"""The HTTP gateway: the original REST contract on top of the Kafka topics (``media-stream gateway``)."""

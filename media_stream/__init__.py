"""media-stream: Kafka generation requests in, rendered media and outcome events out."""

__version__ = "0.1.0"

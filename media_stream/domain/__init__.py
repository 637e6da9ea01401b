"""Domain: requests, outcomes, validation and errors. Imports nothing of Kafka, torch or storage."""

"""What users call: the SDK (`sdk.MediaStreamClient`), publish requests, follow outcomes, replay."""

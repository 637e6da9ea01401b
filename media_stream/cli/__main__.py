"""`python -m media_stream.cli ...` (the demo and the tests start agents this way)."""

from media_stream.cli import main

main()

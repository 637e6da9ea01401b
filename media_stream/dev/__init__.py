"""dev package."""

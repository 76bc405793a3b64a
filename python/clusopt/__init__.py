"""clusopt Python package."""

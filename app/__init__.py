"""Sage's HTTP service, CLI and web page, built on the ``sagents`` library."""

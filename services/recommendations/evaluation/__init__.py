"""Offline evaluation of the engines on MovieLens-format data (``cinema eval``)."""

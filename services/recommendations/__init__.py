"""The recommendation service: per-user lists, similar films, the refresh pipeline."""

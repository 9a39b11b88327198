"""The catalog service: films, genres, persons; search; title matching."""

"""Benchmarks: `make bench` runs them; `make test` never does.

Each benchmark is a module ``bench/<name>.py`` with ``main(argv) -> None`` that measures
the project and a baseline in the same run (these machines are shared and noisy: the
ratio is the figure, absolutes are for the record) and reports through
:func:`bench.report.emit`, one JSON line per measured row.
"""

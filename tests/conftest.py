"""Shared fixtures: real backend servers (tests.fixtures.backends) and the embedded stack."""

pytest_plugins = ["tests.fixtures.backends", "tests.fixtures.stack"]

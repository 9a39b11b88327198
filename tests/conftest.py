"""Shared fixtures: real backend servers (tests.fixtures.backends), the embedded stack, and a
guard that no test leaves a thread that would keep pytest from exiting (tests.fixtures.threads)."""

pytest_plugins = ["tests.fixtures.backends", "tests.fixtures.stack", "tests.fixtures.threads"]

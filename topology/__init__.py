"""The production topology on one machine: `python -m topology` (`make run-prod`) and the
test suite's session fixture (tests/fixtures/production.py) start it the same way.

It runs `cinema` as production deploys it, one process per service, and talks to them
over the wire only: it imports none of their code (`topology.harness`).
"""

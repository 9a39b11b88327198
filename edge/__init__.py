"""The production edge: Envoy's configuration, generated from the protos (issue 14).

`python -m edge --profile embedded` writes `envoy/envoy.yaml` from envoy-data-plane's typed
classes; the file is committed and `tests/edge` fails when it is stale. A build tool (its
dependencies are in the dev group): nothing of ours imports it.
"""

"""Find the services of the generated `cinema.<svc>.v1.*_pb2` modules."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from google.protobuf.descriptor import ServiceDescriptor

import cinema


def discover_services(package: ModuleType = cinema) -> list[ServiceDescriptor]:
    """Every service declared in a `*_pb2` module under `package`, sorted by full name."""
    services: dict[str, ServiceDescriptor] = {}
    for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        for service in module.DESCRIPTOR.services_by_name.values():
            services[service.full_name] = service
    return [services[name] for name in sorted(services)]

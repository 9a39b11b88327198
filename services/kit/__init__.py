"""The service kit: what every Cinema gRPC server shares (bootstrap, interceptors, config)."""

"""What every process of the mesh agrees on beside the protos: the services and the gateway
import it, and it imports none of them (an import contract in pyproject.toml says so)."""

"""Generated from protos/ by scripts/protos.py gen; do not edit."""

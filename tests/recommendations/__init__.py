"""Recommendation service tests."""

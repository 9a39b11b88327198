"""Fakes of services outside our reach, speaking their real wire protocols."""

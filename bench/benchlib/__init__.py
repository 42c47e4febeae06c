"""Helpers for bench/run.py: processes, a small Kubernetes client, measurements, scenarios."""

"""Locust load tests: the personas, the full profile and a short smoke run."""

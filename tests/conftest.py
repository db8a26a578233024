"""Shared pytest configuration: the test bed fixtures, the API stand-ins' fixtures and the
redpanda_* tests' connection fixtures and the Prometheus fixtures are available to every tier."""

pytest_plugins = [
    "tests.testbed",
    "tests.standins.digitalocean_api",
    "tests.redpanda_support",
    "tests.prometheus_support",
]

"""Shared pytest configuration: the test bed fixtures and the API stand-ins' fixtures are available
to every tier."""

pytest_plugins = ["tests.testbed", "tests.standins.digitalocean_api"]

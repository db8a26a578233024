"""Shared pytest configuration: the test bed fixtures are available to every tier."""

pytest_plugins = ["tests.testbed"]

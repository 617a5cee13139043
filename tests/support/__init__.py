"""Helpers shared by the test packages (never imported from conftest or test modules)."""

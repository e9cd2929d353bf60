"""Plain helpers for the tests: functions, data classes and constants that several test modules use.

Import them by name (`from tests.helpers.photos import phantom_jpeg`). Fixtures are not here: they live in
tests/conftest.py (shared) and in the conftest.py of the one folder that uses them.
"""

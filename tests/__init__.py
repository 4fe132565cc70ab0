"""The project's tests, one folder per level; what several folders share lives in tests.support."""

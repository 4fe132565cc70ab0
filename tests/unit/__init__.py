"""Unit tests: the lifecycle rules and models, no AWS at all."""

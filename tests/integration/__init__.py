"""Handler and gateway tests against moto in process."""

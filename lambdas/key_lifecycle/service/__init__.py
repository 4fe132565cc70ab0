"""Runs a plan: per-user locks, confirming re-reads, applying actions through the gateways, notifying. The only
layer that writes."""

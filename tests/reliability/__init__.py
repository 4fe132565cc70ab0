"""Crashes, races, throttling and escalation attempts against the functions in process."""

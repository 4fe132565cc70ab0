"""Pydantic models shared by the three functions: settings, manual-invoke events, account snapshots, plans and reports."""

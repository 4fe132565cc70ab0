"""Models shared by the functions: settings, manual-invoke events, snapshots, plans and reports (dataclasses)."""

"""The lifecycle rules: pure functions from an account snapshot, a clock and the settings to a plan. No I/O."""

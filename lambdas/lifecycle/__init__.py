"""The lifecycle rules: pure functions from an account snapshot, a clock and the settings to a plan (`planner`),
and the code that applies a plan through the gateways (`runner`)."""

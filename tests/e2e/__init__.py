"""End-to-end tests: the stack deployed into the local account, run on its schedules."""

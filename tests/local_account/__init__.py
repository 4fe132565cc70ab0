"""The local emulated account: its AWS-fidelity patches, its runtime and its CLI round trips."""

"""Assertions on the synthesized templates and their cdk-nag report."""

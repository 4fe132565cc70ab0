"""The CDK app's stack and constructs: one construct per logical unit, composed by the stack."""

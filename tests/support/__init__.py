"""What the test folders share: the moto account, the Lambda context, the synthesized template's readers, snapshot
builders, credentials and CloudTrail samples. Fixtures built on them live in the conftest.py files."""

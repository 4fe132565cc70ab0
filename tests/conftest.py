"""Every test that builds the CDK app in process gets the region the CDK CLI would pass it (CDK_DEFAULT_REGION)."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_DEFAULT_REGION", "us-east-1")

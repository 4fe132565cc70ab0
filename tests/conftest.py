"""Every test that builds the CDK app in process gets the region the CDK CLI would pass it (CDK_DEFAULT_REGION);
every moto-backed test gets the users' permissions boundaries in IAM's answers, as AWS gives them."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_DEFAULT_REGION", "us-east-1")

# moto leaves PermissionsBoundary out of GetUser and GetAccountAuthorizationDetails, which AWS returns; the stack
# manages only users carrying its boundary, so every moto-backed test needs AWS's answer (local_account's patch).
from local_account.emulator import users as _user_responses

_user_responses.install()

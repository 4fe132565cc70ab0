"""AWS Organizations as AWS runs it where moto stops short: the OrganizationAccountAccessRole that CreateAccount
makes in a new account has AdministratorAccess ("grants full administrator permissions"); moto gives it none.
Also: which emulated organization an account belongs to (for trust and policy evaluation)."""

from __future__ import annotations

from typing import Any

from moto.iam.models import iam_backends
from moto.organizations.models import OrganizationsBackend, organizations_backends

from local_account.emulator.fidelity import active

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
_ROLE_NAME = "OrganizationAccountAccessRole"

_original_create_account = OrganizationsBackend.create_account


def _create_account(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    status = _original_create_account(self, **kwargs)
    if active():
        account_id = status["CreateAccountStatus"]["AccountId"]
        iam = iam_backends[account_id]["global"]
        role_name = kwargs.get("RoleName") or _ROLE_NAME
        if ADMINISTRATOR_ACCESS in iam.managed_policies:
            iam.attach_role_policy(ADMINISTRATOR_ACCESS, role_name)
        else:  # AWS managed policies not loaded: the same grant, inline
            document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
            iam.put_role_policy(role_name, "AdministratorAccess", document)
    return status


def organization_of(account_id: str) -> Any:
    """The emulated organization `account_id` belongs to (as its management account or a member), or None."""
    for backends in list(organizations_backends.values()):
        backend = backends.get("aws") if hasattr(backends, "get") else None
        org = getattr(backend, "org", None)
        if org is None:
            continue
        if org.master_account_id == account_id or any(a.id == account_id for a in backend.accounts):
            return org
    return None


def install() -> None:
    OrganizationsBackend.create_account = _create_account  # type: ignore[method-assign]

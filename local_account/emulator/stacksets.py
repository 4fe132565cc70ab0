"""Service-managed StackSets as AWS deploys them, where moto stops short: `AWS::CloudFormation::StackSet` in a
template (moto skips it); instances in every ACTIVE account below the target OUs however deep (moto looks one level
down), never in the management account (moto deploys there), with `AccountFilterType`; and automatic deployment: an
account that joins or moves into a target OU gets the instance, one that leaves or moves out loses it (moto deploys
once, at CreateStackInstances)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import StackInstance, StackInstances, StackSet, cloudformation_backends
from moto.core.common_models import CloudFormationModel
from moto.organizations.models import OrganizationsBackend, organizations_backends

from local_account.emulator.fidelity import active


@dataclass
class _Deployment:
    """What a service-managed StackSet targets, kept for automatic deployment."""

    stack_set: StackSet
    groups: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)  # (DeploymentTargets, Regions)
    auto_deployment: bool = False
    retain_stacks: bool = False


_DEPLOYMENTS: dict[str, _Deployment] = {}


def _below(org: OrganizationsBackend, parent_id: str, target_ids: set[str]) -> bool:
    while parent_id:
        if parent_id in target_ids:
            return True
        parent = next((ou for ou in org.ou if ou.id == parent_id), None)
        parent_id = getattr(parent, "parent_id", None) or ""
    return False


def target_accounts(org: OrganizationsBackend, deployment_targets: dict[str, Any]) -> list[str]:
    """The accounts a service-managed deployment reaches: every ACTIVE account below the OUs (nested OUs included),
    never the management account ("StackSets doesn't deploy stack instances to the organization's management
    account, even if the management account is in your organization or in an OU in your organization"), then
    `Accounts` applied as `AccountFilterType` says (NONE: ignored; INTERSECTION; DIFFERENCE; UNION)."""
    ous = set(deployment_targets.get("OrganizationalUnitIds") or [])
    listed = [str(a) for a in deployment_targets.get("Accounts") or []]
    filter_type = deployment_targets.get("AccountFilterType") or "NONE"
    management = org.org.master_account_id if org.org else ""
    reached = [
        account.id
        for account in org.accounts
        if account.status == "ACTIVE" and account.id != management and _below(org, account.parent_id, ous)
    ]
    if filter_type == "INTERSECTION":
        reached = [a for a in reached if a in listed]
    elif filter_type == "DIFFERENCE":
        reached = [a for a in reached if a not in listed]
    elif filter_type == "UNION":
        reached += [a for a in listed if a not in reached and a != management]
    return sorted(reached)


_original_create_instances = StackInstances.create_instances


def _create_instances(
    self: StackInstances,
    accounts: list[str],
    regions: list[str],
    parameters: list[dict[str, Any]] | None,
    deployment_targets: dict[str, Any],
    permission_model: str,
) -> list[dict[str, Any]]:
    if not active() or permission_model != "SERVICE_MANAGED":
        return _original_create_instances(self, accounts, regions, parameters, deployment_targets, permission_model)
    wanted = target_accounts(self.org_backend, deployment_targets)
    return _deploy(self, [(account, region) for region in regions for account in wanted], parameters)


def _deploy(
    instances: StackInstances, targets: list[tuple[str, str]], parameters: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    created = []
    for account, region in targets:
        if instances.get_instance(account, region) is not None:
            continue
        instance = StackInstance(
            account_id=account,
            region_name=region,
            stackset_id=instances.stackset_id,
            stack_name=instances.stack_name,
            name=instances.stackset_name,
            template=instances.template,
            parameters=parameters if parameters is not None else _parameter_list(instances.parameters),
            permission_model="SERVICE_MANAGED",
        )
        instances.stack_instances.append(instance)
        created.append(instance.to_dict())
    return created


def _parameter_list(parameters: Any) -> list[dict[str, Any]]:
    if isinstance(parameters, dict):
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    return list(parameters or [])


def reconcile(org: OrganizationsBackend) -> None:
    """Automatic deployment after the organization changed: each auto-deployed StackSet of this organization gains
    an instance in every target account it lacks and loses (its stack deleted unless retained) those no longer
    targeted: an account that left, was suspended or moved out of the target OUs."""
    for deployment in list(_DEPLOYMENTS.values()):
        stack_set = deployment.stack_set
        if not deployment.auto_deployment or stack_set.status == "DELETED":
            continue
        if organizations_backends[stack_set.instances.account_id][stack_set.instances.partition] is not org:
            continue
        desired = {
            (account, region)
            for targets, regions in deployment.groups
            for region in regions
            for account in target_accounts(org, targets)
        }
        instances = stack_set.instances
        for instance in list(instances.stack_instances):
            if (instance.account_id, instance.region_name) not in desired:
                if not deployment.retain_stacks:
                    instance.delete()
                instances.stack_instances.remove(instance)
        _deploy(instances, sorted(desired), None)


def _after(original: Any) -> Any:
    def changed(self: OrganizationsBackend, **kwargs: Any) -> Any:
        result = original(self, **kwargs)
        if active():
            reconcile(self)
        return result

    changed.__wrapped__ = original  # type: ignore[attr-defined]
    return changed


class CloudFormationStackSet(CloudFormationModel):
    """`AWS::CloudFormation::StackSet`: CreateStackSet, then CreateStackInstances for each StackInstancesGroup."""

    def __init__(self, stack_set: StackSet):
        self.stack_set = stack_set

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StackSetName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::StackSet"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "StackSetId"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.stack_set.id)

    @property
    def physical_resource_id(self) -> str:
        return str(self.stack_set.id)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationStackSet:
        properties = cloudformation_json.get("Properties", {})
        backend = cloudformation_backends[account_id][region_name]
        template = properties.get("TemplateBody")
        if template is None:
            raise ValueError("AWS::CloudFormation::StackSet: only TemplateBody is modelled, not TemplateURL")
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in properties.get("Parameters", [])}
        stack_set = backend.create_stack_set(
            name=properties.get("StackSetName") or resource_name,
            template=template if isinstance(template, str) else json.dumps(template),
            parameters=parameters,
            tags={t["Key"]: t["Value"] for t in properties.get("Tags", [])},
            permission_model=properties.get("PermissionModel", "SELF_MANAGED"),
            admin_role=properties.get("AdministrationRoleARN"),
            exec_role=properties.get("ExecutionRoleName"),
            description=properties.get("Description"),
        )
        auto = properties.get("AutoDeployment") or {}
        deployment = _Deployment(
            stack_set,
            auto_deployment=str(auto.get("Enabled", False)).lower() == "true",
            retain_stacks=str(auto.get("RetainStacksOnAccountRemoval", False)).lower() == "true",
        )
        _DEPLOYMENTS[stack_set.id] = deployment
        for group in properties.get("StackInstancesGroup", []):
            targets = dict(group.get("DeploymentTargets") or {})
            regions = list(group.get("Regions") or [])
            deployment.groups.append((targets, regions))
            stack_set.create_stack_instances(
                accounts=list(targets.get("Accounts") or []) if stack_set.permission_model != "SERVICE_MANAGED" else [],
                regions=regions,
                deployment_targets=targets if stack_set.permission_model == "SERVICE_MANAGED" else None,
                parameters=_parameter_list(parameters),
            )
        return cls(stack_set)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CloudFormationStackSet,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudFormationStackSet:
        cls.delete_from_cloudformation_json(original_resource.physical_resource_id, {}, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        deployment = _DEPLOYMENTS.pop(resource_name, None)
        backend = cloudformation_backends[account_id][region_name]
        stack_set = deployment.stack_set if deployment else backend.stacksets.get(resource_name)
        if stack_set is None:
            return
        for instance in list(stack_set.instances.stack_instances):
            instance.delete()
            stack_set.instances.stack_instances.remove(instance)
        stack_set.delete()


def deployments() -> dict[str, Any]:
    """Every StackSet made through a template: {name: {account: [regions]}} (for tests and the demo)."""
    found: dict[str, Any] = {}
    for deployment in _DEPLOYMENTS.values():
        by_account: dict[str, list[str]] = {}
        for instance in deployment.stack_set.instances.stack_instances:
            by_account.setdefault(instance.account_id, []).append(instance.region_name)
        found[deployment.stack_set.name] = by_account
    return found


def forget() -> None:
    _DEPLOYMENTS.clear()


def install() -> None:
    StackInstances.create_instances = _create_instances  # type: ignore[method-assign]
    for name in ("create_account", "move_account", "remove_account_from_organization", "close_account"):
        method = getattr(OrganizationsBackend, name)
        setattr(OrganizationsBackend, name, _after(method))

"""CloudFormation resources our stack uses that moto's CloudFormation skips or stores wrongly: schedules and
schedule groups, IAM groups, managed policies attached to roles (detached before they are deleted), inline and key
policy documents as JSON, keys scheduled for deletion rather than deleted; Systems Manager parameter types whose
parameter does not exist, which must fail the operation; and DeleteStack, which keeps `RetainExceptOnCreate`
resources and ends in DELETE_FAILED when a resource cannot be deleted."""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.core.common_models import CloudFormationModel
from moto.iam.models import Group, IAMBackend, ManagedPolicy, Role, User, iam_backends
from moto.kms.models import Key, kms_backends
from moto.scheduler.models import scheduler_backends
from moto.utilities.utils import get_partition

from local_account.emulator.fidelity import active


def _cfn_name(resource_name: str, limit: int) -> str:
    # CloudFormation shortens generated physical names to the service's length limit.
    return resource_name[:limit]


# --- Inline policy documents are stored as JSON text --------------------------------------------------
# moto keeps the document of a role's `Policies` property as the template's dict, which then reads back
# as a Python repr and fails every policy evaluation of that role. IAM always stores JSON text.


def _as_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _json_put_policy(original: Any) -> Any:
    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        original(self, policy_name, _as_json(policy_json))

    put_policy.__wrapped__ = original  # type: ignore[attr-defined]
    return put_policy


# --- AWS::IAM::Role ManagedPolicyArns -----------------------------------------------------------------

_original_role_create = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _role_create(
    cls: type[Role],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Role:
    role = _original_role_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    backend: IAMBackend = iam_backends[account_id][get_partition(region_name)]
    for policy_arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []):
        backend.attach_role_policy(policy_arn, role.name)
    return role


# --- AWS::KMS::Key KeyPolicy and PendingWindowInDays -----------------------------------------------------
# moto keeps the template's KeyPolicy as a dict; KMS stores the policy as JSON text, and moto's own key-policy check
# (DescribeKey, GetKeyPolicy...) then fails on the dict. And a key removed from a stack is not deleted at once:
# "PendingWindowInDays: the number of days in the waiting period before AWS KMS deletes a KMS key that has been
# removed from a CloudFormation stack ... The default value is 30 days" (AWS::KMS::Key); moto deletes it at once.

_PENDING_WINDOW_DAYS: dict[str, int] = {}

_original_key_create = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _key_create(
    cls: type[Key],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Key:
    key = _original_key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    key.policy = _as_json(key.policy)
    _PENDING_WINDOW_DAYS[key.arn] = int(cloudformation_json["Properties"].get("PendingWindowInDays", 30))
    return key


_original_key_delete = Key.delete


def _key_delete(self: Key, account_id: str, region_name: str) -> None:
    if not active():
        _original_key_delete(self, account_id, region_name)
        return
    kms_backends[account_id][region_name].schedule_key_deletion(self.id, _PENDING_WINDOW_DAYS.pop(self.arn, 30))


class _NamedResource:
    """A resource whose physical id is its name and whose only attribute that matters is its Arn. A mixin, not a
    CloudFormationModel: moto finds resource types among the direct subclasses of CloudFormationModel."""

    def __init__(self, name: str, arn: str):
        self.name = name
        self.arn = arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def is_created(self) -> bool:
        return True


# --- AWS::IAM::Group ----------------------------------------------------------------------------------


class CloudFormationGroup(_NamedResource, CloudFormationModel):
    """An IAM group made by CloudFormation, with its managed and inline policies."""

    def __init__(self, group: Group):
        super().__init__(str(group.name), str(group.arn))
        self.group = group

    @staticmethod
    def cloudformation_name_type() -> str:
        return "GroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::Group"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationGroup:
        properties = cloudformation_json.get("Properties", {})
        backend: IAMBackend = iam_backends[account_id][get_partition(region_name)]
        name = properties.get("GroupName") or _cfn_name(resource_name, 128)
        group = backend.create_group(name, properties.get("Path", "/"))
        for policy_arn in properties.get("ManagedPolicyArns", []):
            backend.attach_group_policy(policy_arn, name)
        for policy in properties.get("Policies", []):
            backend.put_group_policy(name, policy["PolicyName"], _as_json(policy["PolicyDocument"]))
        return cls(group)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CloudFormationGroup,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudFormationGroup:
        backend: IAMBackend = iam_backends[account_id][get_partition(region_name)]
        name = original_resource.group.name
        properties = cloudformation_json.get("Properties", {})
        wanted = set(properties.get("ManagedPolicyArns", []))
        for policy_arn in list(original_resource.group.managed_policies):
            if policy_arn not in wanted:
                backend.detach_group_policy(policy_arn, name)
        for policy_arn in wanted - set(original_resource.group.managed_policies):
            backend.attach_group_policy(policy_arn, name)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend: IAMBackend = iam_backends[account_id][get_partition(region_name)]
        if resource_name in backend.groups:
            for policy_arn in list(backend.groups[resource_name].managed_policies):
                backend.detach_group_policy(policy_arn, resource_name)
            backend.delete_group(resource_name)


# --- AWS::Scheduler::ScheduleGroup and AWS::Scheduler::Schedule ---------------------------------------


def _pascal_target(target: dict[str, Any]) -> dict[str, Any]:
    # The template and the Scheduler API use the same PascalCase names; keep only what the API accepts.
    return {key: value for key, value in target.items() if value is not None}


class CloudFormationScheduleGroup(_NamedResource, CloudFormationModel):
    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::ScheduleGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "CreationDate", "LastModificationDate", "State")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn if attribute_name == "Arn" else "ACTIVE"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationScheduleGroup:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("Name") or _cfn_name(resource_name, 64)
        group = scheduler_backends[account_id][region_name].create_schedule_group(name, properties.get("Tags", []))
        return cls(group.name, group.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CloudFormationScheduleGroup,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudFormationScheduleGroup:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        scheduler_backends[account_id][region_name].delete_schedule_group(resource_name)


class CloudFormationSchedule(_NamedResource, CloudFormationModel):
    def __init__(self, group_name: str, name: str, arn: str):
        super().__init__(name, arn)
        self.group_name = group_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @staticmethod
    def _arguments(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": properties.get("Description"),
            "end_date": properties.get("EndDate"),
            "flexible_time_window": properties.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            "kms_key_arn": properties.get("KmsKeyArn"),
            "schedule_expression": properties["ScheduleExpression"],
            "schedule_expression_timezone": properties.get("ScheduleExpressionTimezone"),
            "start_date": properties.get("StartDate"),
            "state": properties.get("State", "ENABLED"),
            "target": _pascal_target(properties["Target"]),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationSchedule:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("Name") or _cfn_name(resource_name, 64)
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            group_name=properties.get("GroupName") or "default",
            name=name,
            action_after_completion=None,
            **cls._arguments(properties),
        )
        return cls(schedule.group_name, schedule.name, schedule.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CloudFormationSchedule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudFormationSchedule:
        properties = cloudformation_json.get("Properties", {})
        scheduler_backends[account_id][region_name].update_schedule(
            group_name=original_resource.group_name, name=original_resource.name, **cls._arguments(properties)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        """DeleteStack: by the group the schedule was created in (the template's GroupName may be a Ref). Deleting a
        group deletes its schedules, and CloudFormation counts a resource already gone as deleted."""
        group = scheduler_backends[account_id][region_name].schedule_groups.get(self.group_name)
        if group is not None and self.name in group.schedules:
            group.delete_schedule(self.name)


# --- AWS::SSM::Parameter::Value<...> parameters ------------------------------------------------------
# "If a specified parameter doesn't exist in Parameter Store under the caller's AWS account, CloudFormation returns
# a validation error" (CloudFormation User Guide, Systems Manager parameter types): CreateStack and UpdateStack
# fail before any resource changes. moto dereferences the missing parameter and answers with an internal error.

_original_parse_ssm_parameter = parsing.ResourceMap.parse_ssm_parameter


def _parse_ssm_parameter(self: parsing.ResourceMap, value: str, value_type: str) -> str:
    from moto.ssm.models import ssm_backends

    if active() and ssm_backends[self._account_id][self._region_name].get_parameter(value) is None:
        raise ValidationError(message=f"Unable to fetch parameters [{value}] from parameter store for this account.")
    return _original_parse_ssm_parameter(self, value, value_type)


# --- AWS::IAM::ManagedPolicy deletion -------------------------------------------------------------------
# CloudFormation deletes a managed policy of the stack by detaching it from its roles, users and groups first, so
# the roles it is attached to can be deleted after it (IAM refuses DeleteRole while a policy is attached:
# DeleteConflict). moto has no deletion for the resource: the policy stays attached and DeleteStack fails.


def _managed_policy_delete(self: ManagedPolicy, account_id: str, region_name: str) -> None:
    backend: IAMBackend = iam_backends[account_id][get_partition(region_name)]
    if self.arn not in backend.managed_policies:
        return
    for role in list(backend.roles.values()):
        if self.arn in role.managed_policies:
            backend.detach_role_policy(self.arn, role.name)
    for user in list(backend.users.values()):
        if self.arn in user.managed_policies:
            backend.detach_user_policy(self.arn, user.name)
    for group in list(backend.groups.values()):
        if self.arn in group.managed_policies:
            backend.detach_group_policy(self.arn, group.name)
    backend.delete_policy(self.arn)


# --- DeletionPolicy RetainExceptOnCreate ---------------------------------------------------------------
# "RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
# created the resource. If the stack operation that created the resource is rolled back, CloudFormation deletes
# the resource." (CloudFormation Template Reference, DeletionPolicy attribute.) moto keeps only `Retain` on
# DeleteStack and deletes the rest; it never rolls a create back, so DeleteStack is the one operation to fix.

_original_delete = parsing.ResourceMap.delete


def _delete_keeping_retained(self: parsing.ResourceMap) -> None:
    if not active():
        _original_delete(self)
        return
    kept = [r for r in self._resource_json_map.values() if r.get("DeletionPolicy") == "RetainExceptOnCreate"]
    for resource in kept:
        resource["DeletionPolicy"] = "Retain"
    try:
        _original_delete(self)
    finally:
        for resource in kept:
            resource["DeletionPolicy"] = "RetainExceptOnCreate"


# A resource CloudFormation cannot delete (a DynamoDB table with deletion protection on, say) does not fail the
# DeleteStack call: the stack ends in DELETE_FAILED, still listed, the reason in its events. moto lets the
# resource's error escape from DeleteStack and forgets the stack.

_original_delete_stack = CloudFormationBackend.delete_stack


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)), None)
    if not active() or stack is None:
        _original_delete_stack(self, name_or_stack_id)
        return
    try:
        _original_delete_stack(self, stack.stack_id)
    except Exception as exc:  # any resource's failure fails the stack, as CloudFormation reports it
        self.stacks[stack.stack_id] = stack
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"The following resource(s) failed: {exc}")


def install() -> None:
    parsing.ResourceMap.parse_ssm_parameter = _parse_ssm_parameter  # type: ignore[method-assign]
    parsing.ResourceMap.delete = _delete_keeping_retained  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = _delete_stack  # type: ignore[method-assign]
    for cls in (Role, User, Group):
        if not hasattr(cls.put_policy, "__wrapped__"):
            cls.put_policy = _json_put_policy(cls.put_policy)  # type: ignore[method-assign]
    Role.create_from_cloudformation_json = classmethod(_role_create)  # type: ignore[method-assign,assignment]
    Key.create_from_cloudformation_json = classmethod(_key_create)  # type: ignore[method-assign,assignment]
    Key.delete = _key_delete  # type: ignore[method-assign]
    ManagedPolicy.delete = _managed_policy_delete  # type: ignore[attr-defined]
    # moto builds its resource-type map from CloudFormationModel's subclasses once; rebuild it now that
    # the classes above exist.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()

"""Cold start: what importing a handler and running it on schedule load, in fresh interpreters, and the dataclass
models that keep pydantic off the functions' path answering as the pydantic ones did."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import ValidationError

from key_lifecycle.models.base import MESSAGES, message
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Plan, Report
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, SecretVersionState, UserState

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("create_keys", "rotate_keys", "cleanup_users", "detect_changes")
# Never needed to import a handler: the validation library, the X-Ray SDK (only with tracing on), and what only
# manual or weekly requests use.
NEVER_AT_IMPORT = (
    "pydantic",
    "pydantic_core",
    "aws_xray_sdk",
    "key_lifecycle.domain.audit",
    "key_lifecycle.domain.inventory",
)


def fresh_interpreter(script: str, **env: str) -> Any:
    """Run `script` in a new interpreter with the Lambda asset on its path; it prints one JSON document last."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        **env,
    }
    prelude = f"import sys, json\nsys.path[:0] = [{str(ROOT / 'lambdas')!r}, {str(ROOT)!r}]\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + script],
        capture_output=True,
        text=True,
        env=environment,
        cwd=str(ROOT),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(modules: list[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


@pytest.mark.parametrize("handler", HANDLERS)
def test_importing_a_handler_loads_no_validation_library_and_nothing_only_manual_requests_use(handler: str) -> None:
    # Given a fresh interpreter, as a Lambda cold start is / When the handler module is imported
    modules = fresh_interpreter(f"import handlers.{handler}\nprint(json.dumps(sorted(sys.modules)))\n")
    # Then neither pydantic nor any module that only a manual or weekly request needs was loaded
    assert [name for name in NEVER_AT_IMPORT if loaded(modules, name)] == []
    # And only the cleanup function, which sends forewarnings, loads their planner, and only on first use
    assert not loaded(modules, "key_lifecycle.domain.forewarn")
    assert not loaded(modules, "key_lifecycle.gateways.posture")


TRACED = """
import os
from key_lifecycle.observability import tracer

@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return "ran"

at_import = "aws_xray_sdk" in sys.modules
result = handler({}, None)
from aws_xray_sdk.core import patcher
print(json.dumps({"at_import": at_import, "result": result, "patched": sorted(patcher._PATCHED_MODULES)}))
"""


def test_a_traced_function_builds_its_tracer_on_first_use_and_traces_only_botocore() -> None:
    # Given a function deployed with active tracing (inside Lambda, with a trace header)
    environment = {
        "LAMBDA_TASK_ROOT": str(ROOT / "lambdas"),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # nothing listens there; segments are simply dropped
    }
    # When its handler module is imported, then invoked
    result = fresh_interpreter(TRACED, **environment)
    # Then the X-Ray SDK was not loaded by the import, the invocation ran traced, and only botocore is patched
    assert result == {"at_import": False, "result": "ran", "patched": ["botocore"]}


SCHEDULED_RUNS = """
import importlib.util, os
from datetime import UTC, datetime
from moto import mock_aws

# IAM's paging straight from its file: the local_account package would load moto's CloudFormation, which loads
# pydantic, and this test is about what the function loads.
spec = importlib.util.spec_from_file_location("paging", os.path.join(sys.path[1], "local_account/emulator/paging.py"))
paging = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paging)
paging.install()
from bench.seed import seed_account
from key_lifecycle.models.settings import Settings

with mock_aws():
    seed_account(20, 2, Settings(), datetime.now(UTC), due=os.environ["DUE"], due_every=4)
    assert not any(name.startswith("pydantic") for name in sys.modules), "the emulator loaded pydantic"
    handler = __import__("handlers." + os.environ["HANDLER"], fromlist=["lambda_handler"])
    imported = set(sys.modules)
    from key_lifecycle.handlers.common import get_aws

    class Http:
        status_code = 200

    def not_in_moto(model, **_):
        # ListServiceSpecificCredentials is not implemented by moto 5.2.5; no seeded user holds any.
        if model.name == "ListServiceSpecificCredentials":
            return Http(), {"ServiceSpecificCredentials": []}
        return None

    get_aws().session.events.register("before-call", not_in_moto)

    class Context:
        function_name = "cold-start-test"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start-test"
        aws_request_id = "cold-start-test"

        def get_remaining_time_in_millis(self):
            return 300000

    report = handler.lambda_handler(json.loads(os.environ["EVENT"]), Context())
done = [a["action"] for a in report["actions"] if a["status"] == "done"]
first_use = sorted(set(sys.modules) - imported)
print(json.dumps({"modules": sorted(sys.modules), "on_first_use": first_use, "done": done, "errors": report["errors"]}))
"""


@pytest.mark.parametrize(
    ("handler", "event", "due", "action"),
    [
        ("create_keys", {"action": "reconcile"}, "reconcile", "create_key"),
        ("rotate_keys", {}, "rotate", "create_key"),
        ("cleanup_users", {}, "cleanup", "delete_user"),
    ],
)
def test_a_scheduled_run_with_work_to_do_never_loads_pydantic(
    handler: str, event: dict[str, Any], due: str, action: str
) -> None:
    # Given an emulated account where every fourth of 20 managed users is due for this function
    # When the function's scheduled invocation runs in a fresh interpreter, straight after its import
    result = fresh_interpreter(
        SCHEDULED_RUNS, HANDLER=handler, EVENT=json.dumps(event), DUE=due, VERIFY_TIMEOUT_SECONDS="5"
    )
    # Then it did the work (so every path of a real run was taken)
    assert result["errors"] == []
    assert result["done"].count(action) == 5
    # And neither the import nor the run loaded pydantic: lazy imports did not just move it to the first invocation
    assert not loaded(result["modules"], "pydantic")
    assert not loaded(result["modules"], "pydantic_core")
    # And what the run did import on first use is the project's own forewarning planner at most (cleanup only)
    own = [name for name in result["on_first_use"] if name.split(".")[0] in {"handlers", "lifecycle", "gateways"}]
    assert own == (["key_lifecycle.domain.forewarn"] if handler == "cleanup_users" else [])


# The models without pydantic -------------------------------------------------------------------------------------

CONTEXTS: dict[str, dict[str, Any]] = {
    "string_too_short": {"min_length": 1},
    "string_too_long": {"max_length": 64},
    "string_pattern_mismatch": {"pattern": "^[A-Za-z0-9+=,.@_-]+$"},
    "literal_error": {"expected": "'notify' or 'deactivate'"},
    "greater_than": {"gt": 0},
    "greater_than_equal": {"ge": 1},
    "less_than_equal": {"le": 600},
    "value_error": {"error": "must not exceed"},
}


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_every_problem_reads_as_pydantic_words_it(kind: str) -> None:
    # Given a kind of problem and the values its message names
    ctx = CONTEXTS.get(kind, {})
    # When pydantic itself words it
    pydantic_words = ValidationError.from_exception_data(
        "Model",
        [{"type": kind, "loc": ("field",), "input": 1, "ctx": ctx}],
    ).errors()[0]["msg"]
    # Then the models word it the same way
    assert message(kind, ctx) == pydantic_words


def test_a_string_one_character_long_is_worded_in_the_singular() -> None:
    assert message("string_too_short", {"min_length": 1}) == "String should have at least 1 character"
    assert message("string_too_long", {"max_length": 2}) == "String should have at most 2 characters"


def test_a_bad_setting_reaches_the_stack_as_a_pydantic_error_of_the_same_kind() -> None:
    # Given values the stack's config passes at synth, one out of bounds and one mistyped
    # When validated as the stack does / Then pydantic's ValidationError carries each field, its kind and bound
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"rotate_after_days": 0, "dry_run": "perhaps"})
    errors = caught.value.errors(include_url=False)
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("rotate_after_days",), "greater_than_equal"),
        (("dry_run",), "bool_parsing"),
    ]
    assert errors[0]["ctx"] == {"ge": 1}
    assert errors[0]["msg"] == "Input should be greater than or equal to 1"


def test_a_rule_across_settings_reaches_the_stack_without_a_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"rotate_after_days": 120, "max_key_age_days": 120})
    (error,) = caught.value.errors(include_url=False)
    assert (error["loc"], error["type"]) == ((), "value_error")
    assert error["msg"] == "Value error, MAX_KEY_AGE_DAYS must exceed ROTATE_AFTER_DAYS"


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="secret_recovery_days: Input should be greater than or equal to 7"):
        Settings(secret_recovery_days=6)


def user(name: str, **changes: Any) -> UserState:
    values: dict[str, Any] = {
        "user_name": name,
        "arn": f"arn:aws:iam::123456789012:user/temporary/{name}",
        "path": "/temporary/",
        "create_date": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return UserState(**{**values, **changes})


def test_a_snapshot_copy_with_changes_leaves_the_original_as_it_was() -> None:
    # Given a user read with some tags
    tags = {"owner": "team"}
    original = user("alice", tags=tags, groups=["readers"])
    # When the caller's dict changes afterwards, and a copy is made with other tags
    tags["owner"] = "someone else"
    copy = original.model_copy(update={"tags": {"owner": "other"}})
    # Then the snapshot kept what was read (tuples where lists were given), and the copy has its own tags
    assert original.tags == {"owner": "team"} and original.groups == ("readers",)
    assert copy.tags == {"owner": "other"} and copy.user_name == "alice"
    with pytest.raises(AttributeError):
        original.path = "/"  # type: ignore[misc]


def test_a_user_is_found_whatever_the_case_of_its_name_and_the_first_of_two_variants_wins() -> None:
    first, second = user("Alice"), user("alice", user_id="other")
    snapshot = AccountSnapshot(users=[first, second, user("bob")])  # type: ignore[arg-type]
    assert snapshot.find("ALICE") is first
    assert snapshot.find("Bob") is not None and snapshot.find("carol") is None
    assert snapshot == AccountSnapshot(users=(first, second, user("bob")))


def test_a_secret_version_names_its_key_only_for_a_key_id() -> None:
    assert SecretVersionState(version_id="AKIAEXAMPLE-" + "0" * 32).access_key_id == "AKIAEXAMPLE"
    assert SecretVersionState(version_id="a1b2c3").access_key_id is None


def test_a_report_as_json_holds_plain_values() -> None:
    # Given a report of a planned action (its kind given as text) and a change detail with a time in it
    planned = Action(user_name="alice", action="delete_key", reason="old", access_key_id="AKIA1")  # type: ignore[arg-type]
    plan = Plan(actions=[planned])
    report = Report(
        function="rotate_keys", dry_run=True, actions=plan.actions, change={"at": datetime(2025, 1, 2, tzinfo=UTC)}
    )
    # When the report grows and is turned into JSON
    report.actions.append(Action(user_name="bob", action=ActionKind.DELETE_USER, reason="expired"))
    body = report.model_dump(mode="json")
    # Then the plan kept its own list, enums are their values and times ISO strings, as pydantic wrote them
    assert len(plan.actions) == 1 and plan.actions[0].action is ActionKind.DELETE_KEY
    assert body["actions"][0] == {
        "user_name": "alice",
        "action": "delete_key",
        "reason": "old",
        "access_key_id": "AKIA1",
        "status": "planned",
        "detail": None,
    }
    assert body["change"] == {"at": "2025-01-02T00:00:00Z"}
    assert json.loads(json.dumps(body)) == body
    assert plan.actions[0].model_copy() == plan.actions[0] and plan.actions[0].status is ActionStatus.PLANNED

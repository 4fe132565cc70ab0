"""The reviewed snapshot of the IAM policies the stack synthesizes from cdk.json's context: each function role's
statements and each managed policy's (the users' permissions boundary), written so that only a change of
permissions changes it. `make update-iam-snapshot` (python -m tests.support.iam_snapshot) rewrites it."""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from tests.support.stack_template import FUNCTIONS, Synth, render, synthesize_app

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "infrastructure" / "snapshots" / "iam_policies.json"
UPDATE_COMMAND = "make update-iam-snapshot"
ABOUT = (
    "The IAM statements of each function role and managed policy, as synthesized from cdk.json's context. "
    "A logical id stands without its hash suffix (${NotificationsTopic}); statements are sorted. "
    f"Rewritten by `{UPDATE_COMMAND}`: review its diff as you would a change of stacks/permissions.py."
)
# The order a reviewer reads a statement in; any other key follows, sorted.
STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
LISTS = ("Action", "NotAction", "Resource", "NotResource")
# CDK's logical ids: the construct path, then 8 hex digits of its hash.
HASHED_ID = re.compile(r"^(?P<name>[A-Za-z0-9]+?)[0-9A-F]{8}$")
TOKEN = re.compile(r"\$\{(?P<id>[A-Za-z0-9]+)(?P<attribute>\.[A-Za-z0-9.]+)?\}")


def _unhashed_ids(synth: Synth) -> dict[str, str]:
    """Logical id → the same without its hash suffix, for every resource whose stripped id is unambiguous."""
    stripped: dict[str, str] = {}
    for logical_id in synth.resources:
        match = HASHED_ID.match(logical_id)
        if match:
            stripped[logical_id] = match["name"]
    names = list(stripped.values())
    return {logical_id: name for logical_id, name in stripped.items() if names.count(name) == 1}


def _stable(value: Any, ids: dict[str, str]) -> Any:
    """`value` rendered (tokens as ${...}) with every logical id's hash suffix left out."""
    if isinstance(value, str):
        return TOKEN.sub(lambda m: "${" + ids.get(m["id"], m["id"]) + (m["attribute"] or "") + "}", value)
    if isinstance(value, list):
        return [_stable(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _stable(item, ids) for key, item in value.items()}
    return value


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def _statement(raw: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """One statement in the snapshot's form: lists of actions and resources sorted, conditions by key, empty
    parts left out. Condition values keep their order: it is the synthesized one."""
    rendered = _stable(render(raw), ids)
    for key in LISTS:
        if key in rendered:
            value = rendered[key]
            rendered[key] = sorted(value if isinstance(value, list) else [value])
    ordered = {key: rendered[key] for key in STATEMENT_KEYS if rendered.get(key) not in (None, [], {})}
    ordered |= {key: rendered[key] for key in sorted(rendered) if key not in STATEMENT_KEYS}
    if "Condition" in ordered:
        ordered["Condition"] = _sorted_keys(ordered["Condition"])
    return ordered


def _in_order(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(statements, key=lambda s: (s.get("Sid", ""), json.dumps(s, sort_keys=True)))


def policies(synth: Synth) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The snapshot's content for a synthesis: function → statements, managed policy → statements."""
    ids = _unhashed_ids(synth)
    roles = {
        function: _in_order([_statement(s, ids) for s in synth.function_statements(function)])
        for function in sorted(FUNCTIONS)
    }
    managed = {
        ids.get(logical_id, logical_id): _in_order(
            [_statement(s, ids) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
        )
        for logical_id, policy in sorted(synth.of_type("AWS::IAM::ManagedPolicy").items())
    }
    return {"function_roles": roles, "managed_policies": managed}


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def read_snapshot() -> dict[str, Any] | None:
    if not SNAPSHOT.exists():
        return None
    document: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    document.pop("about", None)
    return document


def write_snapshot(content: dict[str, Any]) -> None:
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(_dumps({"about": ABOUT, **content}))


def _by_name(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Statements by their Sid (CDK's own, which have none, by effect and actions), to diff one by one."""
    named: dict[str, dict[str, Any]] = {}
    for statement in statements:
        name = statement.get("Sid") or f"{statement['Effect']} {', '.join(statement.get('Action', []))}"
        while name in named:
            name += "'"
        named[name] = statement
    return named


def differences(snapshot: dict[str, Any], synthesized: dict[str, Any]) -> str:
    """A unified diff per statement that differs, headed by its role or policy and its Sid; empty when the two are
    the same."""
    parts: list[str] = []
    for section in sorted(set(snapshot) | set(synthesized)):
        old_section, new_section = snapshot.get(section, {}), synthesized.get(section, {})
        for policy in sorted(set(old_section) | set(new_section)):
            old, new = _by_name(old_section.get(policy, [])), _by_name(new_section.get(policy, []))
            for name in sorted(set(old) | set(new)):
                if old.get(name) == new.get(name):
                    continue
                before = _dumps(old[name]).splitlines() if name in old else []
                after = _dumps(new[name]).splitlines() if name in new else []
                where = f"{section}/{policy} {name}"
                parts += difflib.unified_diff(before, after, f"snapshot {where}", f"synthesized {where}", lineterm="")
    return "\n".join(parts)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cdk-iam-snapshot-") as outdir:
        synth = synthesize_app({}, Path(outdir))
    write_snapshot(policies(synth))
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: review `git diff` before committing it")


if __name__ == "__main__":
    main()

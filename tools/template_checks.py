"""Synthesizes every template the app can deploy and runs cfn-lint and checkov over them; any finding fails.

Three syntheses cover every resource: the default configuration (main stack only, as in us-east-1), everything
switched on outside us-east-1 (the forwarding stack and the optional CloudTrail trail), and organization mode (the
hub's StackSets and state machines; the spoke templates inlined in the StackSets are checked as files of their
own). Acknowledged findings live
in the templates themselves: checkov's in each resource's `Metadata.checkov.skip`, with a reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from stacks.config import cdk_json_context

VARIANTS = {
    "default": ({}, "us-east-1"),
    "everything": ({"create_cloudtrail_trail": True, "reserved_concurrency": 2}, "eu-west-1"),
    "organization": (
        {
            "organization": {
                "enabled": True,
                "organization_id": "o-a1b2c3d4e5",
                "target_ous": ["ou-ab12-cd34ef56"],
                "exclude_accounts": ["111122223333"],
            }
        },
        "eu-west-1",
    ),
}
# cfn-lint W3005: CDK gives each function an explicit DependsOn its role (and the role's policy) beside the GetAtt
# of the role; the redundant half is harmless and not ours to remove.
CFN_LINT_IGNORED = ["W3005"]


def synthesize(outdir: Path) -> list[Path]:
    templates = []
    for name, (overrides, region) in VARIANTS.items():
        target = outdir / name
        app = build_app({**cdk_json_context(), **overrides}, outdir=str(target), region=region)
        app.synth()  # a cdk-nag finding fails here
        templates += sorted(target.glob("*.template.json"))
        templates += _stack_set_templates(target)
    return templates


def _stack_set_templates(outdir: Path) -> list[Path]:
    """Each StackSet's inline TemplateBody, written beside the template that holds it."""
    written = []
    for template in sorted(outdir.glob("*.template.json")):
        for logical_id, resource in json.loads(template.read_text())["Resources"].items():
            if resource["Type"] == "AWS::CloudFormation::StackSet":
                path = outdir / f"stackset-{logical_id}.json"
                path.write_text(json.dumps(json.loads(resource["Properties"]["TemplateBody"]), indent=1))
                written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("cdk.out/template-checks"))
    parser.add_argument("--checkov", required=True, help="the checkov executable (its own virtualenv)")
    args = parser.parse_args()
    started = time.perf_counter()
    templates = synthesize(args.out)
    print(f"synthesized {len(templates)} templates in {time.perf_counter() - started:.1f} s")
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # installed with moto, in this interpreter's environment
    lint = [str(cfn_lint), "--ignore-checks", *CFN_LINT_IGNORED, "--", *map(str, templates)]
    started = time.perf_counter()
    linted = subprocess.run(lint, check=False)  # noqa: S603 - our own interpreter and files
    print(f"cfn-lint: {'clean' if linted.returncode == 0 else 'FINDINGS'} ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    checkov = [args.checkov, "--framework", "cloudformation", "--quiet", "--compact", "--skip-download"]
    for template in templates:
        checkov += ["--file", str(template)]
    checked = subprocess.run(checkov, check=False)  # noqa: S603 - a pinned tool and our own files
    print(f"checkov: {'clean' if checked.returncode == 0 else 'FINDINGS'} ({time.perf_counter() - started:.1f} s)")
    return 1 if linted.returncode or checked.returncode else 0


if __name__ == "__main__":
    sys.exit(main())

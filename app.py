#!/usr/bin/env python3
"""The CDK app: reads the cdk.json context once, validates it, builds the IamKeyLifecycle stack, adds cdk-nag."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, DefaultStackSynthesizer

from stacks.config import STACK_NAME, ConfigError, load_config
from stacks.iam_key_lifecycle_stack import IamKeyLifecycleStack
from stacks.nag import add_checks


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> App:
    """The app with its one stack. Under the CDK CLI the context comes from cdk.json and `-c`; in process, pass it."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = load_config(app.node.get_all_context())
    IamKeyLifecycleStack(
        app,
        STACK_NAME,
        config=config,
        synthesizer=DefaultStackSynthesizer(
            generate_bootstrap_version_rule=config.generate_bootstrap_version_rule,
        ),
    )
    add_checks(app)
    return app


def main() -> int:
    try:
        app = build_app()
    except ConfigError as exc:
        print(f"Invalid configuration:\n{exc}", file=sys.stderr)
        return 1
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
        # The validation report (cdk-nag findings) has already been printed above.
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

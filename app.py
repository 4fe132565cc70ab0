#!/usr/bin/env python3
"""The CDK app: reads the cdk.json context once, validates it, builds the IamKeyLifecycle stack (and, outside
us-east-1, the stack that forwards IAM's events to it), adds cdk-nag."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, DefaultStackSynthesizer, Environment

from key_lifecycle.models.constants import STACK_NAME
from stacks.config import ConfigError, load_config
from stacks.detection import IAM_EVENTS_REGION
from stacks.iam_events_stack import IamEventsStack
from stacks.iam_key_lifecycle_stack import IamKeyLifecycleStack
from stacks.nag import add_checks
from stacks.organization import synthesize_spoke
from stacks.powertools import check_partition, pinned_version

IAM_EVENTS_STACK_NAME = f"{STACK_NAME}IamEvents"


def deployment_region(region: str | None = None) -> str:
    """The region the CLI deploys the environment-agnostic main stack to: the CLI passes it to the app as
    CDK_DEFAULT_REGION (from AWS_REGION / AWS_DEFAULT_REGION or the profile's region)."""
    region = region or os.environ.get("CDK_DEFAULT_REGION")
    if not region:
        raise ConfigError(
            "the stack's region is unknown: run the app through the CDK CLI (`make synth`, `make deploy`) with a "
            "region configured (AWS_REGION, or `region` in your AWS profile), or set CDK_DEFAULT_REGION"
        )
    return region


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None, region: str | None = None) -> App:
    """The app with its stacks. Under the CDK CLI the context comes from cdk.json and `-c`; in process, pass it.
    `region` defaults to CDK_DEFAULT_REGION, as the CLI sets it."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = load_config(app.node.get_all_context())
    region = deployment_region(region)
    check_partition(region)

    def synthesizer() -> DefaultStackSynthesizer:
        return DefaultStackSynthesizer(generate_bootstrap_version_rule=config.generate_bootstrap_version_rule)

    # Environment-agnostic, so the template is the same in every region; the CLI deploys it to `region`.
    # Organization mode: the spoke, synthesized in its own app, goes into the main stack's StackSets.
    spoke = synthesize_spoke(config, app.node.get_all_context()) if config.organization.enabled else None
    main = IamKeyLifecycleStack(
        app, STACK_NAME, config=config, powertools_version=pinned_version(), spoke=spoke, synthesizer=synthesizer()
    )
    if region != IAM_EVENTS_REGION:
        forwarding = IamEventsStack(
            app,
            IAM_EVENTS_STACK_NAME,
            target_region=region,
            env=Environment(region=IAM_EVENTS_REGION),
            synthesizer=synthesizer(),
        )
        # `cdk deploy --all` deploys the main stack (and its rule) first.
        forwarding.add_stack_dependency(main)
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

"""The CDK feature flags in cdk.json are the values the installed aws-cdk-lib recommends for a new app, and they
reach CDK rather than the operator's configuration."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk

from stacks.config import cdk_json_context, load_config, operator_context


def _recommended() -> dict[str, Any]:
    # aws-cdk-lib ships the flags `cdk init` writes into a new app's cdk.json (recommended-feature-flags.json); the
    # Python package carries the library's npm tarball.
    (tarball,) = (Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        flags: dict[str, Any] = json.load(member)
    return flags


def test_cdk_json_sets_every_recommended_flag_to_its_recommended_value() -> None:
    recommended = _recommended()
    context = cdk_json_context()
    flags = {key: value for key, value in context.items() if key.startswith("@aws-cdk")}
    # A library upgrade that recommends a new flag (or a new value) fails here until cdk.json says what it wants
    assert {k: context.get(k) for k in recommended if context.get(k) != recommended[k]} == {}
    # And cdk.json sets no flag the library does not recommend
    assert set(flags) == set(recommended)


def test_feature_flags_pass_through_to_cdk_not_to_the_operator_settings() -> None:
    context = cdk_json_context()
    # The operator's settings hold no flag, and the flags do not trip the unknown-key check
    assert not [key for key in operator_context(context) if key.startswith("@")]
    load_config(context)
    # And CDK reads them: a flag whose default is off is on in an app built from cdk.json
    assert aws_cdk.FeatureFlags.of(aws_cdk.App()).is_enabled("@aws-cdk/aws-iam:minimizePolicies") is False
    assert aws_cdk.FeatureFlags.of(aws_cdk.App(context=context)).is_enabled("@aws-cdk/aws-iam:minimizePolicies")

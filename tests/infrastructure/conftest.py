"""Synthesize the app once per session (default context, and one far-from-default variant) for every test here."""

from __future__ import annotations

import os

# Before the first aws_cdk import: the jsii runtime is started with this environment.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from stack_template import VARIANT_CONTEXT, Synth, synthesize

from app import build_app
from stacks.config import cdk_json_context


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk-default")
    return synthesize(build_app(cdk_json_context(), outdir=str(outdir)), outdir)


@pytest.fixture(scope="session")
def variant_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk-variant")
    return synthesize(build_app({**cdk_json_context(), **VARIANT_CONTEXT}, outdir=str(outdir)), outdir)

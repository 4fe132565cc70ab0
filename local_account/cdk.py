"""The real CDK CLI, run against the local account: synth with context overrides, bootstrap, deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from key_lifecycle.models.constants import STACK_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent


class CdkError(RuntimeError):
    """A CDK CLI command failed; the message carries the tail of its output."""


@dataclass
class CdkTimings:
    synth_s: float = 0.0
    bootstrap_s: float = 0.0
    deploy_s: float = 0.0
    commands: list[str] = field(default_factory=list)


def context_argument(key: str, value: Any) -> str:
    """`key=value` for `cdk -c`: strings as they are, anything else as JSON (the app parses it back)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return f"{key}={text}"


def cdk_command() -> list[str]:
    local = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    return [str(local)] if local.exists() else ["npx", "--no-install", "cdk"]


class CdkCli:
    """Runs `cdk` in the project directory with the local account's endpoint and credentials."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        credentials: tuple[str, str],
        region: str,
        output_dir: Path,
        project_dir: Path = REPO_ROOT,
    ):
        self.project_dir = project_dir
        self.output_dir = output_dir
        self.timings = CdkTimings()
        venv_bin = str(Path(sys.executable).parent)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_ACCESS_KEY_ID": credentials[0],
                "AWS_SECRET_ACCESS_KEY": credentials[1],
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                # Never pick up a person's real profiles or SSO sessions.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                "NODE_NO_WARNINGS": "1",
                "CDK_DISABLE_VERSION_CHECK": "1",
                "CI": "true",
                # cdk.json runs the app with the project's interpreter; make sure it is this one.
                "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            }
        )
        self.env = env

    def _run(self, args: list[str], *, cwd: Path | None = None) -> str:
        command = cdk_command() + args
        self.timings.commands.append(" ".join(args))
        completed = subprocess.run(  # noqa: S603 - a fixed CLI with our own arguments
            command, cwd=cwd or self.project_dir, env=self.env, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            tail = "\n".join((completed.stdout + "\n" + completed.stderr).strip().splitlines()[-40:])
            raise CdkError(f"`cdk {' '.join(args[:2])}` failed (exit {completed.returncode}):\n{tail}")
        return completed.stdout + completed.stderr

    def synth(self, context: Mapping[str, Any]) -> Path:
        """Synthesize the app once into the output directory; bootstrap and deploy reuse that assembly."""
        args = ["synth", "--quiet", "--no-notices", "--output", str(self.output_dir)]
        for key, value in context.items():
            args += ["-c", context_argument(key, value)]
        started = time.perf_counter()
        self._run(args)
        self.timings.synth_s = time.perf_counter() - started
        return self.output_dir

    def bootstrap(self, account_id: str, *regions: str) -> None:
        """Bootstrap the named environments. It needs nothing of the app: run outside the project (no cdk.json),
        the CLI neither reads nor synthesizes it, so bootstrapping can run while the app is synthesized."""
        started = time.perf_counter()
        self.output_dir.parent.mkdir(parents=True, exist_ok=True)
        environments = [f"aws://{account_id}/{region}" for region in regions]
        self._run(["bootstrap", *environments, "--no-notices"], cwd=self.output_dir.parent)
        self.timings.bootstrap_s = time.perf_counter() - started

    def deploy(self, *stack_names: str, parameters: Mapping[str, str] | None = None) -> None:
        """Deploy the named stacks, or every stack of the app (`make deploy`'s `--all`) in dependency order.
        `parameters`: CloudFormation parameters as `--parameters <stack>:<name>=<value>` (the key `stack:name`)."""
        # moto cannot execute change sets; a direct deployment creates each stack with CreateStack.
        started = time.perf_counter()
        given = [
            argument for key, value in (parameters or {}).items() for argument in ("--parameters", f"{key}={value}")
        ]
        self._run(
            [
                "deploy",
                *(stack_names or ["--all"]),
                *given,
                "--app",
                str(self.output_dir),
                "--method=direct",
                "--require-approval",
                "never",
                "--no-notices",
                "--progress",
                "events",
            ]
        )
        self.timings.deploy_s = time.perf_counter() - started

    def destroy(self) -> None:
        """`make destroy`: delete every stack of the app, without a prompt."""
        self._run(["destroy", "--all", "--app", str(self.output_dir), "--force", "--no-notices"])

    def template(self, stack_name: str = STACK_NAME) -> dict[str, Any]:
        """The synthesized template of the stack (as deployed)."""
        path = self.output_dir / f"{stack_name}.template.json"
        return dict(json.loads(path.read_text()))

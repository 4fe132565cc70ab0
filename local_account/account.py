"""LocalAccount: an emulated AWS account in this process that the real CDK CLI deploys the stack into,
and that runs the deployed functions as deployed, on their schedules, under a virtual clock."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError

from local_account import emulator, transport
from local_account.botocore_patches import shared_loader
from local_account.cdk import REPO_ROOT, STACK_NAME, CdkCli
from local_account.deployed import DeployedSchedule, ScheduleReader, as_utc, read_functions
from local_account.emulator import cloudtrail as event_history
from local_account.emulator import paging, stepfunctions
from local_account.environments import CREDENTIALS_DURATION, Environments
from local_account.public_parameters import publish_powertools_layer
from local_account.runtime import DeployedFunction, Invocation, ModuleSpaces, run_handler
from local_account.schedules import deployed_schedules_version
from local_account.trail import GLOBAL_SERVICES, Origin, Trail, deployed_rules, role_may_put_events
from stacks.powertools import pinned_version

if TYPE_CHECKING:
    from local_account.emulator.alarms import AlarmAction

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ADMIN_USER = "administrator"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
# Context every local deployment needs: moto has no SSM parameter for the bootstrap version to check.
BASE_CONTEXT: dict[str, Any] = {"generate_bootstrap_version_rule": False}

log = logging.getLogger(__name__)
_one_account = threading.Lock()

emulator.install()


class LocalAccountError(RuntimeError):
    """The local account could not be set up or was used wrongly."""


@dataclass
class Timings:
    """How long setting up the account took, in seconds."""

    server_s: float = 0.0
    synth_s: float = 0.0
    bootstrap_s: float = 0.0
    deploy_s: float = 0.0
    read_back_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.server_s + self.synth_s + self.bootstrap_s + self.deploy_s + self.read_back_s


def _credentials_pair(credentials: Any) -> tuple[str, str, str | None]:
    if isinstance(credentials, tuple | list):
        key, secret, *rest = credentials
        return str(key), str(secret), (str(rest[0]) if rest and rest[0] else None)
    if isinstance(credentials, Mapping):
        lowered = {str(k).lower().replace("_", ""): v for k, v in credentials.items()}
        key = lowered.get("accesskeyid")
        secret = lowered.get("secretaccesskey")
        if not key or not secret:
            raise LocalAccountError("credentials need an access key id and a secret access key")
        session_token = lowered.get("sessiontoken")
        return str(key), str(secret), (str(session_token) if session_token else None)
    raise LocalAccountError("credentials must be a mapping or a (key id, secret[, session token]) tuple")


class LocalAccount:
    """An emulated AWS account with the stack deployed. Use `LocalAccount.deploy(...)` as a context manager."""

    account_id = ACCOUNT_ID
    region = REGION

    def __init__(self, *, start: datetime, stack_name: str, project_dir: Path, region: str = REGION):
        self.region = region
        self.stack_name = stack_name
        self.project_dir = project_dir
        self.timings = Timings()
        self.invocations: list[Invocation] = []
        self.executions: list[dict[str, Any]] = []  # every state machine execution a schedule started, as described
        self.retry_waits: list[float] = []  # every Retry interval a state machine waited out, in virtual seconds
        self._waits = threading.Lock()
        self.functions: dict[str, DeployedFunction] = {}
        self.schedules: dict[str, DeployedSchedule] = {}
        self.stack_outputs: dict[str, str] = {}
        self.stack_resources: dict[str, dict[str, str]] = {}
        self.skipped_resources: dict[str, str] = {}
        self.template: dict[str, Any] = {}
        self._start = start
        self._exit = ExitStack()
        self._server: Any = None
        self._clock: Any = None
        self._admin: tuple[str, str] | None = None
        self._sessions: dict[tuple[str, str, str | None], boto3.Session] = {}
        self._modules = ModuleSpaces()
        self._environments = Environments()
        self._schedules_version: Any = None
        self._schedule_reader = ScheduleReader(created_default=start)
        self._clients: dict[tuple[tuple[str, str, str | None], str, str], Any] = {}
        self.endpoint_url = ""
        self.assembly_dir: Path | None = None

    # --- setting up ---------------------------------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        context: Mapping[str, Any] | None = None,
        *,
        start: datetime | None = None,
        stack_name: str = STACK_NAME,
        project_dir: Path = REPO_ROOT,
        enforce_iam: bool = True,
        in_process_transport: bool = True,
        region: str = REGION,
    ) -> LocalAccount:
        """A fresh emulated account at virtual time `start` (default: now, to the minute), with the stack
        synthesized with `context` overrides, bootstrapped and deployed by the CDK CLI into `region` (and, for
        another region than us-east-1, the stack forwarding IAM's events into us-east-1).

        `enforce_iam`: every request is judged against its caller's IAM policies (the administrator's too).
        `in_process_transport`: this process's clients reach the emulator without a socket (see transport)."""
        account = cls.empty(
            start=start,
            stack_name=stack_name,
            project_dir=project_dir,
            enforce_iam=enforce_iam,
            in_process_transport=in_process_transport,
            region=region,
        )
        try:
            account._deploy_stack(dict(context or {}))
        except BaseException:
            account.close()
            raise
        return account

    @classmethod
    def empty(
        cls,
        *,
        start: datetime | None = None,
        stack_name: str = STACK_NAME,
        project_dir: Path = REPO_ROOT,
        enforce_iam: bool = True,
        in_process_transport: bool = True,
        region: str = REGION,
    ) -> LocalAccount:
        """A fresh emulated account with only its administrator, nothing deployed (see `deploy`)."""
        if start is None:
            start = datetime.now(UTC).replace(second=0, microsecond=0)
        if start.tzinfo is None:
            raise LocalAccountError("start must be timezone-aware")
        if not _one_account.acquire(blocking=False):
            raise LocalAccountError("one LocalAccount per process: moto's backends are process-wide")
        account = cls(start=start.astimezone(UTC), stack_name=stack_name, project_dir=project_dir, region=region)
        account._exit.callback(_one_account.release)
        try:
            account._start_emulator(enforce_iam=enforce_iam, in_process=in_process_transport)
        except BaseException:
            account.close()
            raise
        return account

    def _start_emulator(self, *, enforce_iam: bool, in_process: bool) -> None:
        started = time.perf_counter()
        self._exit.enter_context(emulator.aws_fidelity())
        # CloudTrail's event history is the account's: a new account starts with none.
        event_history.reset()
        self._exit.callback(event_history.reset)
        traveller = time_machine.travel(self._start, tick=False)
        self._clock = traveller.start()
        self._exit.callback(traveller.stop)
        self._exit.callback(
            _restore_env, "MOTO_IAM_LOAD_MANAGED_POLICIES", os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
        )
        # Groups and the admin need AWS managed policies (IAMReadOnlyAccess, AdministratorAccess).
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        self._start_server(in_process=in_process)
        self._create_admin()
        assert self._admin is not None
        # Step Functions executions (moto's interpreter) reach this emulator and run Lambda tasks in this runtime.
        route = stepfunctions.Route(
            self.endpoint_url, self._admin, self._invoke_from_state_machine, wait=self._state_machine_wait
        )
        self._exit.callback(route.close)
        if enforce_iam:
            self._set_auth(0)
        self.timings.server_s = time.perf_counter() - started

    def _deploy_stack(self, context: dict[str, Any], parameters: Mapping[str, str] | None = None) -> None:
        # IAM's paging and 4-hour credential report as AWS serves them. Always on once installed (no switch),
        # so only a deployed account installs them: its process is the demo's or the e2e tests' own.
        paging.install()
        workdir = Path(self._exit.enter_context(tempfile.TemporaryDirectory(prefix="local-account-")))
        assert self._admin is not None
        cli = CdkCli(
            endpoint_url=self.endpoint_url,
            credentials=self._admin,
            region=self.region,
            output_dir=workdir / "cdk.out",
            project_dir=self.project_dir,
        )
        # What AWS publishes before anyone deploys: the layer of the pinned Powertools release and its parameter.
        publish_powertools_layer(self.account_id, self.region, pinned_version())
        # The forwarding stack's region too (where IAM's events arrive), when the stack lives elsewhere.
        regions = dict.fromkeys([self.region, GLOBAL_SERVICES["iam"]])
        with _quiet_unsupported_resources():
            # Bootstrapping needs only the environments: it runs while the app is synthesized.
            with ThreadPoolExecutor(max_workers=1) as pool:
                bootstrapped = pool.submit(cli.bootstrap, self.account_id, *regions)
                self.assembly_dir = cli.synth({**BASE_CONTEXT, **context})
                bootstrapped.result()
            self.template = cli.template(self.stack_name)
            cli.deploy(parameters=parameters)  # every stack, as `make deploy` does
        self.timings.synth_s = cli.timings.synth_s
        self.timings.bootstrap_s = cli.timings.bootstrap_s
        self.timings.deploy_s = cli.timings.deploy_s

        started = time.perf_counter()
        self.refresh()
        self.timings.read_back_s = time.perf_counter() - started
        # What exists now (the emulator, its service models, the stack) lives as long as the account: kept out of
        # the garbage collector's full passes, which would otherwise walk it again and again during the runs.
        gc.freeze()
        self._exit.callback(gc.unfreeze)

    def _start_server(self, *, in_process: bool) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # Never 0.0.0.0: the emulator holds credentials and must not be reachable from the network.
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self._exit.callback(self._stop_server)
        _, port = self._server.get_host_and_port()
        # moto resolves CloudFormation template URLs only for the host name `localhost`.
        self.endpoint_url = f"http://localhost:{port}"
        self._post("/moto-api/reset", b"")
        app = getattr(getattr(self._server, "_server", None), "app", None)
        if in_process and app is not None:
            transport.route(self.endpoint_url, app)
            self._exit.callback(transport.unroute, self.endpoint_url)

    def _stop_server(self) -> None:
        # The reset builds every account's backends anew; IAM's would load AWS's ~1,300 managed policies per
        # account and partition (seconds for an organization). Empty backends need none: the next local account
        # resets again at its start, with them.
        managed_policies = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
        try:
            self._post("/moto-api/reset", b"")
        finally:
            _restore_env("MOTO_IAM_LOAD_MANAGED_POLICIES", managed_policies)
            self._server.stop()

    def _post(self, path: str, body: bytes) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310
            self.endpoint_url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our local emulator
            return dict(json.loads(response.read() or b"{}"))

    def _set_auth(self, initial_no_auth_actions: float) -> None:
        previous = self._post("/moto-api/reset-auth", str(initial_no_auth_actions).encode())
        self._exit.callback(
            self._post, "/moto-api/reset-auth", previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"].encode()
        )

    def _create_admin(self) -> None:
        # Created before IAM enforcement is on: afterwards every request must be signed by a known key.
        iam = self._session(("bootstrap", "bootstrap", None)).client(
            "iam", endpoint_url=self.endpoint_url, region_name=self.region
        )
        iam.create_user(UserName=ADMIN_USER)
        iam.attach_user_policy(UserName=ADMIN_USER, PolicyArn=ADMIN_POLICY_ARN)
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        self._admin = (key["AccessKeyId"], key["SecretAccessKey"])

    def refresh(self) -> None:
        """Read the stack's resources, outputs, functions and schedules back from the account's APIs."""
        cloudformation = self.admin_client("cloudformation")
        resources: dict[str, dict[str, str]] = {}
        with _quiet_unsupported_resources():  # moto parses the template again as it lists the resources
            stack = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"][0]
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=self.stack_name):
                for summary in page["StackResourceSummaries"]:
                    resources[summary["LogicalResourceId"]] = {
                        "type": summary["ResourceType"],
                        "physical_id": summary.get("PhysicalResourceId", ""),
                    }
        self.stack_outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.stack_resources = resources
        # What the template declares but moto's CloudFormation does not create (alarms, resource policies...).
        self.skipped_resources = {
            logical_id: resource["Type"]
            for logical_id, resource in self.template.get("Resources", {}).items()
            if logical_id not in resources and resource.get("Type") != "AWS::CDK::Metadata"
        }
        self.functions = read_functions(self.admin_client("lambda"), self.stack_resources)
        self._schedule_reader.forget()
        self.schedules = self._read_schedules()

    def _read_schedules(self) -> dict[str, DeployedSchedule]:
        return self._schedule_reader.read(self.admin_client("scheduler"), self.functions)

    # --- clients ------------------------------------------------------------------------------------

    def _session(self, credentials: tuple[str, str, str | None]) -> boto3.Session:
        if credentials not in self._sessions:
            key, secret, token = credentials
            core = botocore.session.Session()
            core.register_component("data_loader", shared_loader(core.get_config_variable("data_path")))
            self._sessions[credentials] = boto3.Session(
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                region_name=self.region,
                botocore_session=core,
            )
        return self._sessions[credentials]

    @property
    def admin_credentials(self) -> dict[str, str]:
        """The administrator's access key (an IAM user with AdministratorAccess in this account)."""
        assert self._admin is not None
        return {"AccessKeyId": self._admin[0], "SecretAccessKey": self._admin[1]}

    def admin_client(self, service: str, *, region: str | None = None) -> Any:
        """A boto3 client for `service` as the account's administrator (in the stack's region unless named)."""
        assert self._admin is not None
        return self.client(service, credentials=self._admin, region=region)

    def client(self, service: str, credentials: Any, *, region: str | None = None) -> Any:
        """A boto3 client for `service` signed with some access key: a mapping (AccessKeyId/SecretAccessKey,
        any casing, optional SessionToken, e.g. a stored secret's value) or a (key id, secret) tuple."""
        pair = _credentials_pair(credentials)
        region = region or self.region
        if (pair, service, region) not in self._clients:
            self._clients[(pair, service, region)] = self._session(pair).client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=region,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
        return self._clients[(pair, service, region)]

    # --- time ---------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The virtual time (UTC)."""
        return datetime.now(UTC)

    def _move_to(self, moment: datetime) -> None:
        if moment < self.now:
            raise LocalAccountError(f"the clock only moves forward (now {self.now}, asked {moment})")
        self._clock.move_to(moment)

    def _state_machine_wait(self, seconds: float) -> None:
        """A state machine waiting out a Retry interval: the virtual clock moves to the end of the wait (unless
        another wait, begun at the same time on another of the map's threads, moved it further), no real time."""
        started = self.now
        with self._waits:
            self.retry_waits.append(seconds)
            end = started + timedelta(seconds=max(0.0, seconds))
            if end > self.now:
                self._clock.move_to(end)

    def upcoming(self, until: datetime) -> list[tuple[datetime, DeployedSchedule]]:
        """Every schedule firing in (now, until], in time order."""
        firings: list[tuple[datetime, int, DeployedSchedule]] = []
        for index, schedule in enumerate(self.schedules.values()):
            if schedule.function is None and ":states:" not in schedule.target_arn:
                continue
            firings.extend((moment, index, schedule) for moment in schedule.firings(self.now, until))
        firings.sort(key=lambda item: (item[0], item[1]))
        return [(moment, schedule) for moment, _, schedule in firings]

    def advance(
        self,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        *,
        on_tick: Callable[[datetime], None] | None = None,
    ) -> list[Invocation]:
        """Move the virtual clock forward, firing every schedule due on the way at its time."""
        return self.advance_to(self.now + timedelta(days=days, hours=hours, minutes=minutes), on_tick=on_tick)

    def advance_to(self, until: datetime, *, on_tick: Callable[[datetime], None] | None = None) -> list[Invocation]:
        """Move the virtual clock to `until`, firing every schedule due in between at its time.

        `on_tick(now)` runs after the firings of each moment, with the clock at that moment, so callers can
        interleave their own activity (a consumer using its key) with the schedules."""
        until = until.astimezone(UTC)
        if until < self.now:
            raise LocalAccountError(f"the clock only moves forward (now {self.now}, asked {until})")
        # Read again (through the Scheduler API) only when a schedule was created, changed or deleted.
        version = deployed_schedules_version(self.account_id, self.region)
        if version != self._schedules_version:
            self.schedules, self._schedules_version = self._read_schedules(), version
        fired: list[Invocation] = []
        batch_time: datetime | None = None
        for moment, schedule in self.upcoming(until):
            if batch_time is not None and moment != batch_time and on_tick is not None:
                on_tick(batch_time)
            batch_time = moment
            # A function that slept moved the clock on; a schedule due meanwhile runs as soon as it can.
            if moment > self.now:
                self._move_to(moment)
            if schedule.function is None:
                fired += self._start_state_machine(schedule)
            else:
                fired.append(self._invoke(schedule.function, schedule.event, source="schedule", schedule=schedule.name))
        if batch_time is not None and on_tick is not None:
            on_tick(batch_time)
        if until > self.now:
            self._move_to(until)
        return fired

    # --- running functions ----------------------------------------------------------------------------

    def invoke(self, function: str, event: Any = None) -> Any:
        """Run a deployed function now, as `aws lambda invoke` would; returns its JSON result (on an error,
        Lambda's error payload with errorType/errorMessage; see `invocations[-1].error`)."""
        invocation = self._invoke(function, {} if event is None else event, source="manual", schedule=None)
        return invocation.result

    def function(self, name: str) -> DeployedFunction:
        """A deployed function by handler module name (`rotate_keys`), function name or logical id."""
        if name in self.functions:
            return self.functions[name]
        for candidate in self.functions.values():
            if name in (candidate.function_name, candidate.logical_id, candidate.function_arn):
                return candidate
        raise LocalAccountError(f"no deployed function {name!r}; deployed: {sorted(self.functions)}")

    def _invoke(self, name: str, event: Any, *, source: str, schedule: str | None) -> Invocation:
        function = self.function(name)
        invocation = Invocation(time=self.now, function=function.name, source=source, schedule=schedule, event=event)
        environment, cold = self._environments.acquire(function, self.now, lambda: self._role_session(function.name))
        run_handler(
            function,
            event,
            environment=self._runtime_environment(function, environment.credentials),
            invocation=invocation,
            modules=self._modules,
            advance_clock=lambda seconds: self._clock.shift(timedelta(seconds=seconds)),
            cold_start=cold,
        )
        self._environments.release(environment, self.now)
        if invocation.error == "Task.TimedOut":  # Lambda resets the runtime after a timeout
            self._environments.discard(function.name)
        if invocation.error:
            log.warning("%s (%s) failed at %s: %s", function.name, source, invocation.time, invocation.error)
        self.invocations.append(invocation)
        return invocation

    def _invoke_from_state_machine(self, function_arn: str, event: Any) -> tuple[Any, str | None]:
        name = ":".join(function_arn.split(":")[:7]) if function_arn.startswith("arn:") else function_arn
        try:
            self.function(name)
        except LocalAccountError:
            # As Lambda answers the task's Invoke (the task fails with Lambda.ResourceNotFoundException).
            error = {"Code": "ResourceNotFoundException", "Message": f"Function not found: {function_arn}"}
            metadata = {"HTTPStatusCode": 404, "RequestId": str(uuid.uuid4())}
            raise ClientError({"Error": error, "ResponseMetadata": metadata}, "Invoke") from None
        invocation = self._invoke(name, event, source="state machine", schedule=None)
        return invocation.result, invocation.error

    def _start_state_machine(self, schedule: DeployedSchedule) -> list[Invocation]:
        """What EventBridge Scheduler does for a state machine target: StartExecution with the schedule's input,
        signed with the schedule's role (so its IAM policy decides), then wait for the execution to end."""
        if not schedule.role_arn:
            raise LocalAccountError(f"schedule {schedule.name} targets a state machine but has no role")
        credentials = self._service_role_credentials(schedule.role_arn, schedule.name)
        started = self.client("stepfunctions", credentials=credentials).start_execution(
            stateMachineArn=schedule.target_arn, name=uuid.uuid4().hex, input=json.dumps(schedule.event)
        )
        before = len(self.invocations)
        self.executions.append(self.wait_for_execution(started["executionArn"]))
        return self.invocations[before:]

    def start_execution(self, state_machine_arn: str, event: Any = None) -> dict[str, Any]:
        """Start a deployed state machine now as the administrator and wait for it: its DescribeExecution."""
        started = self.admin_client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=uuid.uuid4().hex, input=json.dumps({} if event is None else event)
        )
        description = self.wait_for_execution(started["executionArn"])
        self.executions.append(description)
        return description

    def wait_for_execution(self, execution_arn: str, timeout_s: float = 300.0) -> dict[str, Any]:
        """DescribeExecution once the execution has ended (it runs on moto's threads; this waits in real time)."""
        from local_account.runtime import _real_monotonic, _real_sleep

        sfn = self.admin_client("stepfunctions")
        deadline = _real_monotonic() + timeout_s
        while True:
            description = dict(sfn.describe_execution(executionArn=execution_arn))
            if description["status"] != "RUNNING":
                description.pop("ResponseMetadata", None)
                return description
            if _real_monotonic() > deadline:
                raise LocalAccountError(f"execution {execution_arn} still running after {timeout_s} s")
            _real_sleep(0.02)

    def _service_role_credentials(self, role_arn: str, session_name: str) -> dict[str, str]:
        # A service (Scheduler) assumes its target's role itself; the trust policy names the service principal.
        from moto.sts.models import sts_backends

        assumed = sts_backends[self.account_id]["aws"].assume_role(
            region_name=self.region,
            role_session_name=session_name[:64],
            role_arn=role_arn,
            policy=None,  # type: ignore[arg-type]
            duration=3600,
            external_id=None,  # type: ignore[arg-type]
        )
        return {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token,
        }

    def role_credentials(self, function: str) -> dict[str, str]:
        """Temporary credentials of a deployed function's role, as the Lambda service gets them for an
        execution environment (AssumeRole by the service itself, so the role's trust policy is not asked)."""
        return self._role_session(function)[0]

    def _role_session(self, function: str) -> tuple[dict[str, str], datetime]:
        from moto.sts.models import sts_backends

        deployed = self.function(function)
        assumed = sts_backends[self.account_id]["aws"].assume_role(
            region_name=self.region,
            role_session_name=deployed.function_name[:64],
            role_arn=deployed.role_arn,
            policy=None,  # type: ignore[arg-type]
            duration=int(CREDENTIALS_DURATION.total_seconds()),
            external_id=None,  # type: ignore[arg-type]
        )
        credentials = {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token,
        }
        return credentials, as_utc(assumed.expiration) or self.now

    def _runtime_environment(self, function: DeployedFunction, credentials: Mapping[str, str]) -> dict[str, str]:
        runtime = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(REPO_ROOT / "lambdas"),
            # There is no X-Ray daemon in the local account.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
        return {**function.environment, **runtime}

    # --- teardown -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the emulator and the virtual clock; everything in the account is gone."""
        self._exit.close()

    def __enter__(self) -> LocalAccount:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- conveniences for tests and the demo ------------------------------------------------------------

    def failed_invocations(self) -> list[Invocation]:
        return [i for i in self.invocations if not i.ok]

    def log_lines(self, invocations: Iterable[Invocation] | None = None) -> list[str]:
        return [line for i in (self.invocations if invocations is None else invocations) for line in i.log_lines]

    # --- CloudTrail, EventBridge rules and the root user (the emulator has none of them) --------------------

    def cloudtrail(self, credentials: Any = None, *, origin: Origin | None = None) -> Trail:
        """CloudTrail for the calls made through `trail.client(service)`, signed as the administrator unless
        `credentials` are given: each becomes the management event AWS records (from `origin`: source address, user
        agent, VPC endpoint), delivered (`deliver_event`) when the `with` block ends, and kept in the event history
        LookupEvents serves. See `local_account.trail`."""
        assert self._admin is not None
        caller = _credentials_pair(credentials if credentials is not None else self._admin)

        def new_client(service: str) -> Any:
            # A client of its own: the account's shared clients must not record.
            return self._session(caller).client(service, endpoint_url=self.endpoint_url)

        return Trail(self, caller[0], new_client, origin)

    def deliver_event(self, event: Mapping[str, Any]) -> list[Invocation]:
        """EventBridge: put `event` on the default bus of its region (an IAM event's is us-east-1) and run the
        function targeted by each enabled deployed rule (as read back with ListRules/ListTargetsByRule) whose pattern
        matches it, as the rule delivers it (source "rule"). A rule whose target is the default bus of another region
        forwards the event there, if its target's role may put events on that bus. The record is also kept in the
        region's CloudTrail event history (LookupEvents)."""
        if isinstance(event.get("detail"), Mapping):
            event_history.record(self.account_id, str(event.get("region") or self.region), dict(event["detail"]))
        return self._deliver_on_bus(str(event.get("region") or self.region), event, forwarded=False)

    def _deliver_on_bus(self, region: str, event: Mapping[str, Any], *, forwarded: bool) -> list[Invocation]:
        by_arn = {f.function_arn: f.name for f in self.functions.values()}
        delivered = []
        for rule in deployed_rules(self.admin_client("events", region=region)):
            if not rule.matches(event):
                continue
            for target in rule.targets:
                if ":event-bus/" not in target.arn:
                    name = by_arn.get(":".join(target.arn.split(":")[:7]))
                    if name is not None:
                        delivered.append(self._invoke(name, dict(event), source="rule", schedule=None))
                elif forwarded or not target.arn.endswith(":event-bus/default"):
                    log.warning("rule %s: only one hop to another region's default bus is modelled", rule.name)
                elif target.role_arn and role_may_put_events(self.account_id, target.role_arn, target.arn):
                    delivered += self._deliver_on_bus(target.arn.split(":")[3], event, forwarded=True)
                else:
                    # EventBridge puts a cross-Region event with the target's role; without the right, it fails.
                    log.warning("rule %s: role %s may not put events on %s", rule.name, target.role_arn, target.arn)
        return delivered

    def set_alarm_state(
        self, alarm_name: str, state: str, reason: str = "Set in the local account"
    ) -> list[AlarmAction]:
        """Set a deployed alarm's state (SetAlarmState, as the administrator) and run what CloudWatch runs on a
        change of state, which the emulator does not: each SNS action published as cloudwatch.amazonaws.com,
        delivered only if the topic's access policy allows it. Returns each action with whether it arrived."""
        from local_account.emulator.alarms import run_alarm_actions

        cloudwatch = self.admin_client("cloudwatch")
        previous = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["StateValue"]
        cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=reason)
        return run_alarm_actions(self.account_id, self.region, alarm_name, previous)

    def create_root_access_key(self) -> dict[str, Any]:
        """Give the account root user an access key (Security Hub IAM.4's finding). It shows where AWS shows it,
        GetAccountSummary's AccountAccessKeysPresent and the credential report's <root_account> row, but signs
        nothing: the emulator has no root credentials. Returns its id, status and creation date."""
        from local_account.emulator.root_keys import create_root_access_key

        return create_root_access_key(self.account_id)


@contextlib.contextmanager
def _quiet_unsupported_resources() -> Iterator[None]:
    """moto warns once per resource type it cannot create; `skipped_resources` lists them instead."""
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto", category=UserWarning)
        try:
            yield
        finally:
            moto_logger.setLevel(level)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value

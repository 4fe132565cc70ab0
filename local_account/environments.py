"""Lambda execution environments on the virtual clock: when an invocation reuses a warm environment (its
settings, clients and role credentials from the cold start) and when it starts cold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from local_account.runtime import DeployedFunction

# Lambda does not say how long an idle environment is kept; it is minutes, not hours. An invocation within this
# idle time of the previous one's end reuses the environment; any later one starts cold.
IDLE_TIMEOUT = timedelta(minutes=15)
# The role credentials an environment gets at its cold start (AssumeRole's default duration). An environment
# whose credentials would expire before an invocation's timeout is retired: the invocation starts cold with
# new credentials, as Lambda recycles environments long before their credentials run out.
CREDENTIALS_DURATION = timedelta(hours=1)


@dataclass
class Environment:
    """One execution environment of a function: its configuration and credentials as of its cold start."""

    function: DeployedFunction
    credentials: dict[str, str]  # AccessKeyId, SecretAccessKey, SessionToken
    expires: datetime  # the credentials' expiration
    started: datetime
    idle_since: datetime
    invocations: int = 0


class Environments:
    """At most one environment per function (the local account runs one invocation at a time)."""

    def __init__(self, idle_timeout: timedelta = IDLE_TIMEOUT) -> None:
        self.idle_timeout = idle_timeout
        self._by_function: dict[str, Environment] = {}
        self.cold_starts = 0
        self.warm_starts = 0

    def acquire(
        self,
        function: DeployedFunction,
        now: datetime,
        credentials: Callable[[], tuple[dict[str, str], datetime]],
    ) -> tuple[Environment, bool]:
        """The environment an invocation at `now` runs in, and whether it is a cold start. `credentials()` gives
        the role's new credentials and their expiration, for a cold start."""
        environment = self._by_function.get(function.name)
        if environment is not None and self._reusable(environment, function, now):
            self.warm_starts += 1
            environment.invocations += 1
            return environment, False
        role_credentials, expires = credentials()
        environment = Environment(function, role_credentials, expires, started=now, idle_since=now, invocations=1)
        self._by_function[function.name] = environment
        self.cold_starts += 1
        return environment, True

    def release(self, environment: Environment, now: datetime) -> None:
        """The invocation ended at `now` (virtual): the environment idles from then on."""
        environment.idle_since = now

    def discard(self, function: str) -> None:
        """The next invocation of `function` starts cold (after an error that kills the runtime, or a redeploy)."""
        self._by_function.pop(function, None)

    def _reusable(self, environment: Environment, function: DeployedFunction, now: datetime) -> bool:
        return (
            environment.function == function  # a new configuration (redeploy) always gets new environments
            and now - environment.idle_since <= self.idle_timeout
            and environment.expires - now >= timedelta(seconds=function.timeout_s)
        )

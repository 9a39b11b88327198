"""Failed-login throttling: a sliding window of failures per login and per client address.

An attempt is counted the moment it is let in, before its slow password check, and
given back only if it succeeds: otherwise a burst of concurrent guesses would all pass
the check before the first of them failed.

In-process: each replica counts on its own, so N replicas allow up to N times the limit.
That bounds online guessing well enough for now; a shared counter (Redis) is the next step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.kit.errors import ResourceExhausted
from services.kit.limits import SlidingWindow


@dataclass
class LoginAttempt:
    """An attempt let in by the throttle: it counts as a failure unless told otherwise."""

    throttle: LoginThrottle
    login_key: str
    address: str
    login_stamp: float
    address_stamp: float

    def succeeded(self) -> None:
        """The right password: the login's failures are forgiven, the attempt given back.

        The address keeps its other failures: one good password must not reset a spray.
        """
        self.throttle.per_login.forget(self.login_key)
        self.throttle.per_address.withdraw(self.address, self.address_stamp)

    def withdraw(self) -> None:
        """Nothing was checked (e.g. the store failed first): the attempt does not count."""
        self.throttle.per_login.withdraw(self.login_key, self.login_stamp)
        self.throttle.per_address.withdraw(self.address, self.address_stamp)


@dataclass
class LoginThrottle:
    """Refuses login attempts for a login or an address with too many recent failures."""

    per_login: SlidingWindow
    per_address: SlidingWindow

    def begin(self, login_key: str, address: str) -> LoginAttempt:
        """Lets an attempt in and counts it, or raises ResourceExhausted.

        Checking and counting happen with no await between them, so concurrent attempts
        cannot all slip under the limit.
        """
        waits = [
            wait
            for wait in (
                self.per_login.retry_after(login_key),
                self.per_address.retry_after(address),
            )
            if wait is not None
        ]
        if waits:
            seconds = max(waits)
            raise ResourceExhausted(
                f"too many failed logins; retry in {math.ceil(seconds)} s", seconds
            )
        return LoginAttempt(
            self,
            login_key,
            address,
            self.per_login.record(login_key),
            self.per_address.record(address),
        )

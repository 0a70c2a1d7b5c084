"""The Python breaker client: check vigil's shared circuit breakers before calling a vendor."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import redis

from .protocol import (
    CHECK_FIELDS,
    BREAKER_SCOPES,
    CheckAnswer,
    ScopeRef,
    Verdict,
    combine,
    evaluate,
    fields_from,
    scope_id_problem,
    scopes_of,
    unknown_breaker,
)
from .scripts import source

FailMode = str  # 'open' (allow the call) or 'closed' (deny it)


class BreakerError(Exception):
    """A breaker operation failed. ``code``: invalid_argument, protocol_mismatch, not_found or
    redis_unreachable; ``retriable``: whether trying again can help."""

    def __init__(self, code: str, message: str, *, scope: str = "-", id: str = "-", script: str = "-", retriable: bool = False) -> None:
        super().__init__(f"{script} on {scope}:{id}: {message}")
        self.code = code
        self.scope = scope
        self.id = id
        self.script = script
        self.retriable = retriable


def _check_fail_mode(fail_mode: Union[FailMode, Mapping[str, FailMode]]) -> Tuple[FailMode, Dict[str, FailMode]]:
    if isinstance(fail_mode, str):
        default, per_scope = fail_mode, {}
    else:
        per_scope = dict(fail_mode)
        default = per_scope.pop("default", "")
    if default not in ("open", "closed"):
        raise BreakerError("invalid_argument", 'fail_mode must be "open" or "closed" (or a dict with a "default" and scopes)', script="BreakerClient")
    for scope, mode in per_scope.items():
        if scope not in BREAKER_SCOPES or mode not in ("open", "closed"):
            raise BreakerError("invalid_argument", f"fail_mode[{scope!r}] must be a scope mapped to \"open\" or \"closed\"", script="BreakerClient")
    return default, per_scope


class BreakerClient:
    """Checks every breaker that applies to one intended call in one Redis round trip (protocol v1).

    ``fail_mode``: what to answer when Redis cannot be asked: ``"open"`` allows the call, ``"closed"``
    denies it; or a dict ``{"default": "closed", "user": "open"}`` per scope (any consulted scope that
    fails closed denies). How long "cannot be asked" takes is the redis client's socket timeout
    (``from_url`` sets it from ``timeout_s``). ``key_prefix``: the monitor's redis.keyPrefix.
    ``clock``: tests and conformance runs only: Redis time (epoch ms) to use instead of TIME.
    """

    def __init__(
        self,
        client: "redis.Redis[Any]",
        *,
        fail_mode: Union[FailMode, Mapping[str, FailMode]],
        key_prefix: str = "vigil",
        clock: Optional[Callable[[], int]] = None,
    ) -> None:
        self._default_mode, self._per_scope = _check_fail_mode(fail_mode)
        self._redis = client
        self._prefix = key_prefix
        self._clock = clock
        self._take_permit = client.register_script(source("takePermit"))
        self._report_trial = client.register_script(source("reportTrial"))

    @classmethod
    def from_url(cls, url: str = "redis://127.0.0.1:6379", *, fail_mode: Union[FailMode, Mapping[str, FailMode]], key_prefix: str = "vigil", timeout_s: float = 0.25) -> "BreakerClient":
        """A client with its own connection; a check slower than ``timeout_s`` answers by the fail mode."""
        r = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        return cls(r, fail_mode=fail_mode, key_prefix=key_prefix)

    def _state_key(self, ref: ScopeRef) -> str:
        return f"{self._prefix}:brk:{{{ref.scope}:{ref.id}}}:state"

    def _channel(self) -> str:
        return f"{self._prefix}:brk:transitions"

    def _script_time(self) -> str:
        return str(self._clock()) if self._clock else ""

    def _fail_mode_of(self, scope: str) -> FailMode:
        return self._per_scope.get(scope, self._default_mode)

    def check(self, *, vendor: Optional[str] = None, agent: Optional[str] = None, user: Optional[str] = None, action: Optional[str] = None, take_permits: bool = True) -> CheckAnswer:
        """The most restrictive answer over global and every scope given. Never raises for Redis trouble
        (answers by the fail mode, ``degraded="redis_unreachable"``); raises BreakerError for a bad id.

        ``take_permits=False``: change nothing in Redis; a breaker due for a trial call denies instead.
        """
        for scope, id in (("vendor", vendor), ("agent", agent), ("user", user), ("action", action)):
            if id is None or id == "":
                continue
            problem = scope_id_problem(scope, id)
            if problem:
                raise BreakerError("invalid_argument", problem, scope=scope, id=str(id), script="check")
        refs = scopes_of(vendor, agent, user, action)
        try:
            return self._check_online(refs, take_permits)
        except Exception:  # Redis down, timed out, or answering nonsense: the fail mode answers
            return self._degraded(refs)

    def _degraded(self, refs: Sequence[ScopeRef]) -> CheckAnswer:
        closed = next((r for r in refs if self._fail_mode_of(r.scope) == "closed"), None)
        if closed is None:
            return CheckAnswer(True, None, "unknown", None, None, None, [], degraded="redis_unreachable")
        return CheckAnswer(False, closed, "unknown", f"Redis unreachable: {closed.scope} breakers fail closed", None, None, [], degraded="redis_unreachable")

    def _check_online(self, refs: Sequence[ScopeRef], take_permits: bool) -> CheckAnswer:
        pipe = self._redis.pipeline(transaction=False)
        if self._clock is None:
            pipe.time()
        for ref in refs:
            pipe.hmget(self._state_key(ref), list(CHECK_FIELDS))
        replies = pipe.execute()
        if self._clock is None:
            seconds, micros = replies.pop(0)
            now = int(seconds) * 1000 + int(micros) // 1000
        else:
            now = self._clock()
        verdicts = [(ref, evaluate(fields_from(reply), now)) for ref, reply in zip(refs, replies)]
        settled = [(r, v) for r, v in verdicts if v.kind != "probe"]
        if any(v.kind == "deny" for _, v in settled) or len(settled) == len(verdicts):
            return combine(settled)
        # Only scopes that are (or may become) half_open remain: take their trial permits atomically.
        probes = [(r, v) for r, v in verdicts if v.kind == "probe"]
        if not take_permits:
            return combine(settled + [(r, Verdict("deny", v.state, note="due for a trial call, and this check takes no trial permits")) for r, v in probes])
        return combine(settled + [(r, self._probe(r)) for r, _ in probes])

    def _probe(self, ref: ScopeRef) -> Verdict:
        ret = self._take_permit(keys=[self._state_key(ref)], args=[self._script_time(), self._channel(), ref.scope, ref.id])
        if ret == -1:
            return unknown_breaker("protocol version or state unknown to this client (takePermit answered -1)")
        if isinstance(ret, int):
            raise BreakerError("invalid_argument", f"takePermit returned {ret}", scope=ref.scope, id=ref.id, script="takePermit")
        r = json.loads(ret)
        if r["outcome"] == "permit":
            return Verdict("allow", r["state"], permit=True)
        if r["outcome"] == "allowed":
            return Verdict("allow", r["state"])
        return Verdict("deny", r["state"], retry_after_ms=r.get("retryAfterMs"), reason=r.get("reason"), actor=r.get("actor"), note=r.get("note"))

    def report_outcome(self, permits: Union[CheckAnswer, Iterable[ScopeRef]], success: bool) -> List[str]:
        """Reports how the call a half-open permit let through went (reportTrial): ``trials`` successes
        close the breaker, one failure re-opens it. Returns each permit's outcome (``applied``, or
        ``ignored`` when the breaker was no longer waiting for it). Raises a retriable BreakerError
        (code redis_unreachable) when Redis cannot be told; the permit is then handed out again at the
        breaker's trial deadline."""
        refs = permits.permits if isinstance(permits, CheckAnswer) else list(permits)
        outcomes: List[str] = []
        for ref in refs:
            try:
                ret = self._report_trial(keys=[self._state_key(ref)], args=[self._script_time(), self._channel(), ref.scope, ref.id, "1" if success else "0"])
            except (redis.RedisError, OSError) as e:
                raise BreakerError("redis_unreachable", f"the trial outcome could not be reported: {e}", scope=ref.scope, id=ref.id, script="reportTrial", retriable=True) from e
            if isinstance(ret, int):
                code = {-1: "protocol_mismatch", -2: "invalid_argument"}.get(ret, "invalid_argument")
                raise BreakerError(code, f"reportTrial returned {ret}", scope=ref.scope, id=ref.id, script="reportTrial")
            outcomes.append(json.loads(ret)["outcome"])
        return outcomes

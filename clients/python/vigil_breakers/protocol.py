"""Breaker protocol v1 (docs/breaker-protocol.md), pure: no I/O.

What one breaker's stored fields say at a given Redis time (``evaluate``), and how the scopes of one
intended call combine into the most restrictive answer (``combine``). The same rules, and the same
answers on the conformance vectors (docs/breaker-protocol.vectors.json), as the Node client.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

PROTOCOL_VERSION = 1
BREAKER_SCOPES: Tuple[str, ...] = ("global", "vendor", "agent", "user", "action")
BREAKER_STATES: Tuple[str, ...] = ("closed", "open", "half_open", "forced_open", "forced_closed")
GLOBAL_ID = "all"
#: The hash fields a check reads (HMGET, in this order).
CHECK_FIELDS: Tuple[str, ...] = ("v", "state", "until", "permits", "reason", "actor", "note", "since")

_ID_RE = re.compile(r"^[^\s{}]{1,200}$")


class ScopeRef(NamedTuple):
    """One breaker: its scope and id."""

    scope: str
    id: str


@dataclass(frozen=True)
class CheckAnswer:
    """The answer to a check of one intended call."""

    allowed: bool
    #: The scope that denies (the most restrictive one), None when allowed.
    blocking_scope: Optional[ScopeRef]
    #: The blocking scope's state; when allowed: ``half_open`` if a trial permit was taken, else ``closed``.
    state: str
    #: Why it is denied, in words; None when allowed.
    reason: Optional[str]
    #: The blocking breaker's stored reason (rule, policy version, counts, finding and trace ids).
    detail: Optional[Dict[str, Any]]
    #: When asking again may get another answer (None: unknown).
    retry_after_ms: Optional[int]
    #: Half-open trial permits this check took: report each call's outcome with report_outcome().
    permits: List[ScopeRef] = field(default_factory=list)
    #: ``redis_unreachable`` when Redis could not be asked and the fail mode answered.
    degraded: Optional[str] = None


@dataclass(frozen=True)
class Verdict:
    """One scope's verdict: allow, deny, or probe (a trial: needs the takePermit script)."""

    kind: str  # 'allow' | 'deny' | 'probe'
    state: str
    permit: bool = False
    retry_after_ms: Optional[int] = None
    reason: Optional[Dict[str, Any]] = None
    actor: Optional[str] = None
    note: Optional[str] = None


def scope_id_problem(scope: object, id: object) -> Optional[str]:
    """Why a scope or id is unacceptable, or None. Ids: 1-200 characters, no whitespace or braces."""
    if not isinstance(scope, str) or scope not in BREAKER_SCOPES:
        return f"scope must be one of {', '.join(BREAKER_SCOPES)} (got {json.dumps(scope)})"
    if not isinstance(id, str) or not _ID_RE.match(id):
        return f"{scope} id must be 1 to 200 characters without spaces or braces (got {json.dumps(id)})"
    if scope == "global" and id != GLOBAL_ID:
        return f'the global breaker\'s id is "{GLOBAL_ID}" (got {json.dumps(id)})'
    return None


def scopes_of(vendor: Optional[str] = None, agent: Optional[str] = None, user: Optional[str] = None, action: Optional[str] = None) -> List[ScopeRef]:
    """The scopes a check consults, broadest first (global always)."""
    out = [ScopeRef("global", GLOBAL_ID)]
    for scope, id in (("vendor", vendor), ("agent", agent), ("user", user), ("action", action)):
        if id is not None and id != "":
            out.append(ScopeRef(scope, id))
    return out


def fields_from(reply: Sequence[Union[bytes, str, None]]) -> Dict[str, str]:
    """The fields from an HMGET reply of CHECK_FIELDS (absent fields left out)."""
    out: Dict[str, str] = {}
    for name, value in zip(CHECK_FIELDS, reply):
        if value is not None:
            out[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    return out


def parse_reason(raw: Optional[str]) -> Dict[str, Any]:
    empty: Dict[str, Any] = {"ruleId": "", "kind": "", "policyVersion": "", "observed": None, "threshold": None, "findingIds": [], "traceIds": [], "summary": ""}
    if not raw:
        return empty
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {**empty, "summary": raw}
    return {**empty, **parsed} if isinstance(parsed, dict) else {**empty, "summary": raw}


def unknown_breaker(note: str) -> Verdict:
    """A denial by a breaker this client cannot read: state unknown, retry-after unknown."""
    return Verdict("deny", "unknown", note=note)


def _num(value: Optional[str]) -> float:
    try:
        return float(value) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0


def evaluate(f: Mapping[str, str], clock: int) -> Verdict:
    """What a breaker's stored fields say at Redis time ``clock`` (epoch ms), without changing anything."""
    if len(f) > 0 and f.get("v") != str(PROTOCOL_VERSION):
        return unknown_breaker(f"protocol version {json.dumps(f.get('v'))} (this client reads {PROTOCOL_VERSION})")
    # Redis wrote the state at `since` by its own clock: its time now is at least that.
    now = clock if "since" not in f else max(clock, int(_num(f["since"])))
    state = f.get("state", "closed")
    until = int(_num(f.get("until")))
    if state == "closed":
        return Verdict("allow", state)
    if state == "forced_closed":
        return Verdict("allow", "closed" if now >= until else state)
    if state == "forced_open":
        if now >= until:
            return Verdict("allow", "closed")
        return Verdict("deny", state, retry_after_ms=until - now, actor=f.get("actor"), note=f.get("note"))
    if state == "open":
        if now < until:
            return Verdict("deny", state, retry_after_ms=until - now, reason=parse_reason(f.get("reason")))
        return Verdict("probe", state)
    if state == "half_open":
        if _num(f.get("permits")) <= 0 and now < until:
            return Verdict("deny", state, retry_after_ms=until - now, reason=parse_reason(f.get("reason")))
        return Verdict("probe", state)
    return unknown_breaker(f"unknown state {json.dumps(state)}")


def describe_denial(ref: ScopeRef, v: Verdict) -> str:
    """Words for a denial (the same as the Node client's)."""
    who = f"{ref.scope} {ref.id}"
    if v.state == "forced_open":
        return f"{who} forced open by {v.actor or '?'}: {v.note or ''}".strip()
    if v.note:
        return f"{who}: {v.note}"
    r = v.reason
    if v.state == "half_open":
        return f"{who} is half-open and its trial permits are taken" + (f" (opened by {r['ruleId']})" if r and r.get("ruleId") else "")
    if not r or not r.get("ruleId"):
        return f"{who} is open"
    counts = f" (observed {_js(r.get('observed'))} vs threshold {_js(r.get('threshold'))})" if r.get("observed") is not None and r.get("threshold") is not None else ""
    return f"{who} open by rule {r['ruleId']}{counts}: {r.get('summary', '')}"


def _js(x: Any) -> str:
    """A number as JavaScript prints it (0.5, 3, not 3.0)."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _rank(v: Verdict) -> int:
    return 2 if v.state == "forced_open" else 1


def combine(verdicts: Sequence[Tuple[ScopeRef, Verdict]]) -> CheckAnswer:
    """The most restrictive answer: any denial denies; among denials forced_open wins, then the longest
    retry-after (unknown counts as longest), then the broadest scope (the first given)."""
    best: Optional[Tuple[ScopeRef, Verdict]] = None
    permits: List[ScopeRef] = []
    for ref, v in verdicts:
        if v.kind == "allow":
            if v.permit:
                permits.append(ref)
            continue
        if v.kind != "deny":
            raise ValueError("combine() takes settled verdicts (allow or deny), not a probe")
        if best is None:
            best = (ref, v)
            continue
        a, b = _rank(v), _rank(best[1])
        ra = float("inf") if v.retry_after_ms is None else v.retry_after_ms
        rb = float("inf") if best[1].retry_after_ms is None else best[1].retry_after_ms
        if a > b or (a == b and ra > rb):
            best = (ref, v)
    if best is None:
        return CheckAnswer(True, None, "half_open" if permits else "closed", None, None, None, permits)
    ref, v = best
    return CheckAnswer(False, ref, v.state, describe_denial(ref, v), v.reason, v.retry_after_ms, permits)

"""The Python client against real Redis: live Redis time, fail modes, bad input, reporting."""
from __future__ import annotations

import json
import os
import socket
import unittest
import uuid

import redis

from vigil_breakers import BreakerClient, BreakerError, CheckAnswer, ScopeRef
from vigil_breakers.scripts import manifest

REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REASON = json.dumps({"ruleId": "vendor_failure_rate", "kind": "vendor_failure_rate", "policyVersion": "p1", "observed": 0.62, "threshold": 0.5, "findingIds": ["f_1"], "traceIds": [], "summary": "vendor failed 62% of 21 calls"})


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LiveRedis(unittest.TestCase):
    def setUp(self) -> None:
        self.r = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        self.prefix = f"t-py-{uuid.uuid4().hex[:12]}"
        self.client = BreakerClient(redis.Redis.from_url(REDIS_URL), key_prefix=self.prefix, fail_mode="closed")

    def tearDown(self) -> None:
        keys = self.r.keys(f"{self.prefix}:*")
        if keys:
            self.r.delete(*keys)
        self.r.close()

    def redis_now(self) -> int:
        s, us = self.r.time()
        return int(s) * 1000 + int(us) // 1000

    def open_vendor(self, until: int, **extra: str) -> None:
        h = {"v": "1", "scope": "vendor", "id": "acme-air", "state": "open", "since": str(self.redis_now()), "until": str(until), "reason": REASON,
             "seq": "1", "trips": "1", "closedAt": "0", "findings": "1", "baseMs": "1000", "capMs": "60000", "jitter": "0", "trials": "1", "trialTimeoutMs": "30000"}
        h.update(extra)
        self.r.hset(f"{self.prefix}:brk:{{vendor:acme-air}}:state", mapping=h)

    def test_allows_when_nothing_is_stored(self) -> None:
        a = self.client.check(vendor="acme-air", agent="travel-assistant", user="u_4f2a", action="flight.book")
        self.assertEqual(a, CheckAnswer(True, None, "closed", None, None, None, []))

    def test_denies_an_open_vendor_by_redis_time_with_the_reason(self) -> None:
        self.open_vendor(self.redis_now() + 60_000)
        a = self.client.check(vendor="acme-air", agent="travel-assistant")
        self.assertFalse(a.allowed)
        self.assertEqual(a.blocking_scope, ScopeRef("vendor", "acme-air"))
        self.assertEqual(a.state, "open")
        self.assertEqual(a.reason, "vendor acme-air open by rule vendor_failure_rate (observed 0.62 vs threshold 0.5): vendor failed 62% of 21 calls")
        self.assertEqual(a.detail["findingIds"], ["f_1"])
        self.assertTrue(55_000 < a.retry_after_ms <= 60_000, a.retry_after_ms)

    def test_a_trial_then_its_success_closes_the_breaker(self) -> None:
        self.open_vendor(self.redis_now() - 1)
        self.assertFalse(self.client.check(vendor="acme-air", take_permits=False).allowed)
        self.assertEqual(self.r.hget(f"{self.prefix}:brk:{{vendor:acme-air}}:state", "state"), "open")
        a = self.client.check(vendor="acme-air")
        self.assertEqual((a.allowed, a.state, a.permits), (True, "half_open", [ScopeRef("vendor", "acme-air")]))
        self.assertFalse(self.client.check(vendor="acme-air").allowed, "the only permit is taken")
        self.assertEqual(self.client.report_outcome(a, True), ["applied"])
        self.assertEqual(self.client.report_outcome(a, True), ["ignored"])
        self.assertEqual(self.client.check(vendor="acme-air").state, "closed")

    def test_refuses_bad_ids_and_fail_modes(self) -> None:
        for kw in ({"vendor": "acme air"}, {"user": "u{1}"}, {"agent": "x" * 201}):
            with self.assertRaises(BreakerError) as e:
                self.client.check(**kw)
            self.assertEqual(e.exception.code, "invalid_argument")
            self.assertFalse(e.exception.retriable)
        for mode in ("ajar", {"default": "open", "planet": "closed"}, {"vendor": "closed"}):
            with self.assertRaises(BreakerError):
                BreakerClient(self.r, fail_mode=mode)  # type: ignore[arg-type]

    def test_loads_the_scripts_of_the_manifest_under_their_sha1(self) -> None:
        m = manifest()
        self.assertEqual((m["protocolVersion"], m["scriptVersion"]), (1, 2))
        for s in m["scripts"]:
            self.assertEqual(self.r.script_load(s["source"]), s["sha1"], s["name"])


class RedisDown(unittest.TestCase):
    def setUp(self) -> None:
        self.down = redis.Redis(port=closed_port(), socket_timeout=0.2, socket_connect_timeout=0.2)

    def tearDown(self) -> None:
        self.down.close()

    def test_answers_by_fail_mode_per_scope_and_says_so(self) -> None:
        c = BreakerClient(self.down, fail_mode={"default": "open", "vendor": "closed"})
        a = c.check(user="u1")
        self.assertEqual((a.allowed, a.state, a.degraded), (True, "unknown", "redis_unreachable"))
        d = c.check(vendor="acme-air", user="u1")
        self.assertEqual((d.allowed, d.blocking_scope, d.degraded), (False, ScopeRef("vendor", "acme-air"), "redis_unreachable"))
        self.assertEqual(d.reason, "Redis unreachable: vendor breakers fail closed")
        closed = BreakerClient.from_url(f"redis://127.0.0.1:{closed_port()}", fail_mode="closed", timeout_s=0.2).check(vendor="acme-air")
        self.assertEqual((closed.allowed, closed.blocking_scope), (False, ScopeRef("global", "all")))

    def test_report_outcome_raises_a_retriable_error(self) -> None:
        c = BreakerClient(self.down, fail_mode="closed")
        with self.assertRaises(BreakerError) as e:
            c.report_outcome([ScopeRef("vendor", "acme-air")], True)
        self.assertEqual((e.exception.code, e.exception.retriable), ("redis_unreachable", True))


if __name__ == "__main__":
    unittest.main()

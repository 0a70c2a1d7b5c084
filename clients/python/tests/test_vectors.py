"""The Python client passes every conformance vector (docs/breaker-protocol.vectors.json) against real Redis."""
from __future__ import annotations

import json
import os
import unittest
import uuid
from pathlib import Path
from typing import Any, Dict, List

import redis

from vigil_breakers import BreakerClient

VECTORS = Path(__file__).resolve().parents[3] / "docs" / "breaker-protocol.vectors.json"
REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def state_key(prefix: str, scope: str, id: str) -> str:
    return f"{prefix}:brk:{{{scope}:{id}}}:state"


class ConformanceVectors(unittest.TestCase):
    redis: "redis.Redis[str]"

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        doc = json.loads(VECTORS.read_text(encoding="utf-8"))
        assert doc["protocolVersion"] == 1 and doc["vectors"], "no protocol-1 vectors"
        cls.vectors: List[Dict[str, Any]] = doc["vectors"]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.redis.close()

    def expect_fields(self, prefix: str, after: List[Dict[str, Any]], what: str) -> None:
        for a in after:
            h = self.redis.hgetall(state_key(prefix, a["scope"], a["id"]))
            got = {f: h.get(f) for f in a["fields"]}
            self.assertEqual(got, a["fields"], f"{what}: {a['scope']}:{a['id']}")

    def test_every_vector(self) -> None:
        for v in self.vectors:
            with self.subTest(v["name"]):
                prefix = f"t-vec-py-{uuid.uuid4().hex[:12]}"
                for b in v["breakers"]:
                    self.redis.hset(state_key(prefix, b["scope"], b["id"]), mapping=b["hash"])
                client = BreakerClient(redis.Redis.from_url(REDIS_URL), key_prefix=prefix, fail_mode="open", clock=lambda v=v: v["now"])
                try:
                    a = client.check(**v["check"])
                    got = {
                        "allowed": a.allowed,
                        "blockingScope": None if a.blocking_scope is None else {"scope": a.blocking_scope.scope, "id": a.blocking_scope.id},
                        "state": a.state,
                        "retryAfterMs": a.retry_after_ms,
                        "permits": [{"scope": p.scope, "id": p.id} for p in a.permits],
                    }
                    self.assertEqual(got, v["expect"], v["why"])
                    self.assertIsNone(a.degraded)
                    self.expect_fields(prefix, v.get("after", []), "after the check")
                    if "report" in v:
                        self.assertEqual(client.report_outcome(a, v["report"]["success"]), ["applied"] * len(a.permits))
                        self.expect_fields(prefix, v["report"]["after"], "after the report")
                finally:
                    keys = [state_key(prefix, "global", "all")] + [state_key(prefix, s, i) for s, i in v["check"].items()]
                    self.redis.delete(*keys)


if __name__ == "__main__":
    unittest.main()

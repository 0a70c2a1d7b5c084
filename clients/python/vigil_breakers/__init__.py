"""vigil_breakers: check vigil's shared circuit breakers (Redis, protocol v1) from Python.

    import redis
    from vigil_breakers import BreakerClient

    breakers = BreakerClient(redis.Redis(), fail_mode="closed")
    answer = breakers.check(vendor="acme-air", agent="travel-assistant", user="u_4f2a", action="flight.book")
    if not answer.allowed:
        raise RuntimeError(f"not now: {answer.reason} (retry after {answer.retry_after_ms} ms)")
    ok = call_vendor()
    if answer.permits:
        breakers.report_outcome(answer, ok)
"""
from .client import BreakerClient, BreakerError, FailMode
from .protocol import BREAKER_SCOPES, BREAKER_STATES, PROTOCOL_VERSION, CheckAnswer, ScopeRef

__all__ = ["BreakerClient", "BreakerError", "FailMode", "CheckAnswer", "ScopeRef", "PROTOCOL_VERSION", "BREAKER_SCOPES", "BREAKER_STATES"]
__version__ = "1.0.0"

"""The breaker Lua scripts, from the manifest the Node package builds (lua/manifest.json: expanded
sources, SHA1s, protocol and script versions), registered on a redis-py client (EVALSHA, loading a
script on NOSCRIPT)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

_MANIFEST = Path(__file__).parent / "lua" / "manifest.json"


def manifest() -> Dict[str, Any]:
    """The script manifest: {package, version, protocolVersion, scriptVersion, scripts: [{name, sha1, source, …}]}."""
    with _MANIFEST.open("r", encoding="utf-8") as f:
        return json.load(f)


def source(name: str) -> str:
    """The expanded source of one script, e.g. ``source('takePermit')``."""
    for s in manifest()["scripts"]:
        if s["name"] == name:
            return s["source"]
    raise KeyError(f"no breaker script {name!r} in {_MANIFEST}")

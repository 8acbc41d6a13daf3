"""Auth token refresh: 10 concurrent calls with an expired token cause ONE refresh.

The script starts its own server on 127.0.0.1 with two endpoints: ``/oauth/token``
issues a new access token, ``/api/me`` accepts only the newest one. The client
starts with an expired token; ``BearerTokenRefresh`` refreshes it once for all ten
calls and replays each. The helper's log lines are shown: they never contain the token.

Run: python examples/auth_refresh.py
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections import Counter

import axios_like
from axios_like.auth import BearerTokenRefresh
from axios_like.testing.server import FlakyServer, Reply, Seen

EXPIRED = "expired-SECRET-token-1"
FRESH = "fresh-SECRET-token-2"


class AuthServer:
    """The server side: ``/oauth/token`` hands out FRESH, ``/api/me`` accepts only FRESH."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def me(self, seen: Seen) -> Reply:
        auth = seen.headers.get("authorization", "")
        kind = "new" if auth == f"Bearer {FRESH}" else "expired"
        with self._lock:
            self.seen[kind] += 1
        if kind == "expired":
            return Reply(401, json={"error": "invalid_token"})
        return Reply(200, json={"user": "ada"})

    def token(self, seen: Seen) -> Reply:
        return Reply(200, json={"access_token": FRESH, "expires_in": 3600})


async def main() -> None:
    # Show the library's own log lines (the auth helper logs under "axios_like.auth").
    shown = logging.StreamHandler(sys.stdout)
    shown.setFormatter(logging.Formatter("log: %(message)s"))
    logging.getLogger("axios_like").addHandler(shown)
    logging.getLogger("axios_like").setLevel(logging.INFO)
    backend = AuthServer()
    with FlakyServer() as server:
        server.handle("/api/me", backend.me)
        server.handle("/oauth/token", backend.token)

        store = {"access_token": EXPIRED}
        refreshes = 0

        async with (
            axios_like.create_async(base_url=server.url) as login,  # no helper on this one
            axios_like.create_async(base_url=server.url, max_retries=2) as api,
        ):

            def get_token() -> str:
                return store["access_token"]

            async def refresh_token() -> None:
                nonlocal refreshes
                refreshes += 1
                r = await login.post("/oauth/token", form={"grant_type": "refresh_token"})
                store["access_token"] = r.data["access_token"]

            BearerTokenRefresh(get_token, refresh_token).install(api)
            results = await asyncio.gather(*(api.get("/api/me") for _ in range(10)))

    statuses = Counter(r.status for r in results)
    print(f"10 calls -> {', '.join(f'{n} x {s}' for s, n in sorted(statuses.items()))}")
    print(f"refresh_token() called {refreshes} time{'s' if refreshes != 1 else ''}")
    print(
        f"server saw {backend.seen['expired']} requests with the expired token, "
        f"{backend.seen['new']} with the new one"
    )
    steps = ", ".join(h.reason for h in results[0].history)
    print(f"each call: {results[0].attempts} attempts ({steps})")


if __name__ == "__main__":
    asyncio.run(main())

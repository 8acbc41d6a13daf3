"""Per-request overrides: any config key given to one call applies to that call only.

The script starts its own flaky server on 127.0.0.1. One client holds the defaults;
each call below overrides a few keys, and the last lines show that nothing a call
did leaked into the client's defaults or into the next call.

Run: python examples/per_request_override.py
"""

from __future__ import annotations

import axios_like
from axios_like import FixedDelay, LinearBackoff
from axios_like.testing.server import FlakyServer, Reply


def main() -> None:
    with FlakyServer() as server:
        server.script("/flaky", [Reply(503), Reply(503), Reply(503), Reply(200, json={"ok": 1})])
        server.script("/slow", [Reply(200, json={"slow": True}, delay=0.3)])
        server.script("/down", [Reply(503)])

        api = axios_like.create(
            base_url=server.url,
            headers={"User-Agent": "per-request-demo/1.0", "X-Team": "billing"},
            params={"api_version": "2"},
            timeout=5.0,
            max_retries=1,
            retry_strategy=FixedDelay(0.01),
            # Several failing calls within milliseconds: more than the default retry budget
            # lets one client retry (docs/resilience.md), so this demo turns it off.
            retry_budget=None,
        )
        with api:
            # 1. More retries for one endpoint known to be flaky (the default, 1, is not enough).
            r = api.get("/flaky", max_retries=5)
            print(f"/flaky       max_retries=5      -> {r.status} after {r.attempts} attempts")

            # 2. A shorter timeout for one call: 0.1 s against a reply that takes 0.3 s.
            try:
                api.get("/slow", timeout=0.1, max_retries=0)
            except axios_like.TimeoutError as exc:
                print(f"/slow        timeout=0.1        -> {type(exc).__name__} ({exc.reason})")
            r = api.get("/slow")  # the default 5 s timeout is back
            print(f"/slow        (defaults)         -> {r.status} {r.data}")

            # 3. Another strategy, and a callback, for one call only.
            waits: list[float] = []
            try:
                api.get(
                    "/down",
                    max_retries=3,
                    retry_strategy=LinearBackoff(base=0.01, increment=0.02),
                    on_retry=lambda event: waits.append(round(event.delay, 3)),
                )
            except axios_like.RetryError as exc:
                print(
                    f"/down        LinearBackoff      -> {exc.reason} after {exc.attempts}, "
                    f"waits {waits}"
                )

            # 4. Headers and params merge key by key; None removes a default header.
            r = api.get("/echo", headers={"X-Team": None, "X-Trace": "t-42"}, params={"page": "3"})
            sent = r.data["headers"]
            print(
                f"/echo        headers/params     -> x-trace={sent.get('x-trace')} "
                f"x-team={sent.get('x-team')} query={r.data['query']}"
            )

            # 5. Nothing leaked: the next call sends the client's defaults again.
            sent = api.get("/echo").data["headers"]
            assert sent["x-team"] == "billing"
            assert "x-trace" not in sent
            assert api.defaults["max_retries"] == 1
            assert api.defaults["timeout"] == 5.0
            print("defaults unchanged: X-Team back, no X-Trace, max_retries=1, timeout=5.0")


if __name__ == "__main__":
    main()

"""The two memos of the hot path (docs/performance.md): they must never change behaviour.

- ``parsed_url``: one ``httpx.URL`` per URL text, bounded, never holding credentials;
- ``InterceptorManager.snapshot``: rebuilt when ``use``/``eject``/``clear`` change the chain.
"""

from __future__ import annotations

import httpx
import pytest

import axios_like
from axios_like import _urls
from axios_like._urls import parsed_url


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    _urls._URLS.clear()


def test_a_url_is_parsed_once_and_equals_httpx_parse() -> None:
    first = parsed_url("https://api.example.com/a/b")
    assert first == httpx.URL("https://api.example.com/a/b")
    assert parsed_url("https://api.example.com/a/b") is first


@pytest.mark.parametrize(
    "url", ["https://user:secret@api.example.com/a", "https://api.example.com/a?token=secret"]
)
def test_urls_that_may_carry_secrets_are_never_cached(url: str) -> None:
    assert parsed_url(url) == httpx.URL(url)
    assert parsed_url(url) is not parsed_url(url)
    assert url not in _urls._URLS


def test_the_cache_is_bounded() -> None:
    for i in range(_urls._URLS_MAX + 10):
        parsed_url(f"https://api.example.com/users/{i}")
    assert 0 < len(_urls._URLS) <= _urls._URLS_MAX


def test_the_origin_table_is_bounded_and_never_holds_credentials() -> None:
    from axios_like._control import Origin
    from axios_like._urls import origin_for

    _urls._ORIGINS.clear()
    for i in range(_urls._URLS_MAX + 10):  # past the bound: the table starts over
        cfg = {"base_url": f"https://h{i}.example.com", "url": "/x?q=1"}
        assert origin_for(cfg) == Origin("https", f"h{i}.example.com", 443)
    assert 0 < len(_urls._ORIGINS) <= 10
    assert set(_urls._ORIGINS.values()) == {
        Origin("https", f"h{i}.example.com", 443)
        for i in range(_urls._URLS_MAX, _urls._URLS_MAX + 10)
    }
    secret = {"base_url": "https://user:pw@api.example.com", "url": "/x"}
    assert origin_for(secret) == Origin("https", "api.example.com", 443)
    assert [key for key in _urls._ORIGINS if "pw" in key] == []


def test_snapshot_follows_use_eject_and_clear() -> None:
    api = axios_like.create()

    def one(config: dict[str, object]) -> dict[str, object]:
        return config

    def two(config: dict[str, object]) -> dict[str, object]:
        return config

    chain = api.interceptors.request
    assert chain.snapshot() == ()
    first = chain.use(one)
    assert chain.snapshot() == ((one, None),)
    assert chain.snapshot() is chain.snapshot()  # built once per change
    chain.use(None, two)
    assert chain.snapshot() == ((one, None), (None, two))
    chain.eject(first)
    assert chain.snapshot() == ((None, two),)
    chain.clear()
    assert chain.snapshot() == ()
    api.close()

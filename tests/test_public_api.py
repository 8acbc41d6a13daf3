"""The public surface: ``__all__`` is exactly the public names, and everything public teaches."""

from __future__ import annotations

import inspect
import typing

import pytest

import axios_like


def public_names() -> set[str]:
    """Every name a user can reach on ``axios_like`` that is not private or a submodule."""
    return {
        name
        for name in dir(axios_like)
        if not name.startswith("_")
        and name != "annotations"  # from __future__ import annotations
        and not inspect.ismodule(getattr(axios_like, name))
    }


def test_all_is_sorted_and_unique() -> None:
    assert axios_like.__all__ == sorted(axios_like.__all__)
    assert len(set(axios_like.__all__)) == len(axios_like.__all__)


def test_all_is_exactly_the_public_names() -> None:
    assert set(axios_like.__all__) == public_names()


def test_every_name_in_all_exists() -> None:
    missing = [name for name in axios_like.__all__ if not hasattr(axios_like, name)]
    assert missing == []


def test_the_spec_names_are_exported() -> None:
    spec = {
        "create",
        "create_async",
        "Client",
        "AsyncClient",
        "Response",
        "RetryEvent",
        "HistoryEntry",
        "RetryStrategy",
        "RetryFacts",
        "FixedDelay",
        "LinearBackoff",
        "ExponentialBackoff",
        "DecorrelatedJitter",
        "is_retryable",
        "AxiosLikeError",
        "ConfigError",
        "NetworkError",
        "TimeoutError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "WriteTimeoutError",
        "PoolTimeoutError",
        "HTTPStatusError",
        "RetryError",
        "ClientConfig",
        "RequestConfig",
        "RequestOptions",
    }
    assert spec <= set(axios_like.__all__)


def _is_type_alias(obj: object) -> bool:
    # ``Middleware = Callable[...]``: a typing alias, documented by its ``#:`` comment.
    return typing.get_origin(obj) is not None


def test_the_only_typing_aliases_are_the_middleware_signatures() -> None:
    aliases = {name for name in axios_like.__all__ if _is_type_alias(getattr(axios_like, name))}
    assert aliases == {"AsyncMiddleware", "Middleware"}


@pytest.mark.parametrize(
    "name", [n for n in sorted(axios_like.__all__) if not _is_type_alias(getattr(axios_like, n))]
)
def test_every_public_object_has_a_docstring(name: str) -> None:
    obj = getattr(axios_like, name)
    assert callable(obj), name
    doc = inspect.getdoc(obj)
    assert doc, name
    assert len(doc) > 10, name
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not (
                inspect.isfunction(member) or isinstance(member, property)
            ):
                continue
            assert inspect.getdoc(member), f"{name}.{attr}"


def test_the_verb_methods_are_documented_on_both_clients() -> None:
    for cls in (axios_like.Client, axios_like.AsyncClient):
        for verb in (
            "request",
            "get",
            "post",
            "put",
            "patch",
            "delete",
            "head",
            "options",
            "stream",
        ):
            assert inspect.getdoc(getattr(cls, verb)), f"{cls.__name__}.{verb}"
        for method in ("use", "__enter__" if cls is axios_like.Client else "__aenter__"):
            assert hasattr(cls, method)
    assert hasattr(axios_like.Client, "close")
    assert hasattr(axios_like.AsyncClient, "aclose")


def test_version_is_a_string() -> None:
    assert isinstance(axios_like.__version__, str)
    assert axios_like.__version__.count(".") >= 1

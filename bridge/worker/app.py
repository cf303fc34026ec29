"""The handler registry: the `App` users create, and `load_app` for `bridge work --app`.

A handler is registered under the PHP class name Laravel writes as `data.commandName`
(object jobs) or under the `job` string of a `Class@method` string job. The worker resolves an
object job by its command name and a string job by its exact `job` string, then by the class
part before `@`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from bridge.exceptions import AppImportError
from bridge.laravel.payload import JobPayload

if TYPE_CHECKING:
    from bridge.worker.job import Job

__all__ = ["App", "FailedHook", "Handler", "HandlerSpec", "load_app"]

#: A job handler: receives the `Job`; its return value is ignored.
Handler = Callable[["Job"], object]
#: Runs after a job finally failed, with the exception it failed with (PHP's `failed()`).
FailedHook = Callable[["Job", BaseException], object]

H = TypeVar("H", bound=Handler)


def _normalize(name: str) -> str:
    # PHP accepts a fully qualified name with a leading backslash; Laravel never writes one.
    return name.strip().lstrip("\\")


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A registered handler: the PHP name it serves, the callable, its optional failed hook."""

    name: str
    func: Handler
    failed: FailedHook | None = None


class App:
    """The registry of Python handlers a worker runs.

    Example:
        ```python
        app = bridge.worker.App()

        @app.handler("App\\\\Jobs\\\\GenerateReport")
        def generate_report(job):
            build(job["reportId"])
        ```
    """

    def __init__(self, *, name: str = "bridge") -> None:
        """Create an empty registry; `name` only labels it in logs and listings."""
        self.name = name
        self._handlers: dict[str, HandlerSpec] = {}

    def register(self, name: str, func: Handler, *, failed: FailedHook | None = None) -> None:
        """Register `func` for the PHP class (or `Class@method` job) `name`.

        A job is matched by its `data.commandName`, else by its `displayName`: so a queued
        listener, mailable or notification, which Laravel wraps in its own job class, is
        served by a handler registered for the app's listener, mailable or notification.

        Raises:
            ValueError: `name` is empty or already has a handler.
        """
        key = _normalize(name)
        if not key:
            raise ValueError("a handler needs a PHP class name")
        if key in self._handlers:
            raise ValueError(f"{key!r} already has a handler")
        self._handlers[key] = HandlerSpec(key, func, failed)

    def handler(self, name: str, *, failed: FailedHook | None = None) -> Callable[[H], H]:
        """Decorator form of `register`."""

        def decorate(func: H) -> H:
            self.register(name, func, failed=failed)
            return func

        return decorate

    def failed(self, name: str) -> Callable[[FailedHook], FailedHook]:
        """Decorator registering the failed hook of the handler already registered for `name`."""

        def decorate(hook: FailedHook) -> FailedHook:
            key = _normalize(name)
            spec = self._handlers.get(key)
            if spec is None:
                raise ValueError(f"{key!r} has no handler to attach a failed hook to")
            self._handlers[key] = HandlerSpec(key, spec.func, hook)
            return hook

        return decorate

    @property
    def handlers(self) -> Mapping[str, HandlerSpec]:
        """Registered handlers by PHP name, read-only."""
        return MappingProxyType(self._handlers)

    def resolve(self, payload: JobPayload) -> HandlerSpec | None:
        """The handler for a payload, or None when no handler serves it."""
        if payload.is_object_job:
            spec = self._handlers.get(_normalize(payload.command_name or ""))
            if spec is None and payload.display_name:
                # Laravel's wrappers (CallQueuedListener, SendQueuedMailable,
                # SendQueuedNotifications) name the app's own class in displayName.
                spec = self._handlers.get(_normalize(payload.display_name))
            return spec
        spec = self._handlers.get(_normalize(payload.job))
        if spec is None and "@" in payload.job:
            spec = self._handlers.get(_normalize(payload.job.partition("@")[0]))
        return spec

    def resolve_class(self, class_name: str) -> HandlerSpec | None:
        """The handler registered for a PHP class name, or None."""
        return self._handlers.get(_normalize(class_name))

    def __repr__(self) -> str:
        return f"App(name={self.name!r}, handlers={sorted(self._handlers)!r})"


def load_app(target: str) -> App:
    """Import the `App` named by `"module:attr"` (`attr` defaults to `app`, may be dotted).

    Raises:
        AppImportError: The module cannot be imported, lacks the attribute, or the attribute
            is not an `App`.
    """
    module_name, _, attr = target.partition(":")
    module_name, attr = module_name.strip(), (attr.strip() or "app")
    if not module_name:
        raise AppImportError(f"{target!r} is not of the form MODULE:ATTR")
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppImportError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as exc:
            raise AppImportError(f"module {module_name!r} has no attribute {attr!r}") from exc
    if not isinstance(found, App):
        raise AppImportError(f"{target!r} is a {type(found).__name__}, not a bridge.worker.App")
    return found

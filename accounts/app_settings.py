"""One mechanism for the apps' own settings (``attendance/conf.py``, ``access_control/conf.py``).

An app declares each setting once, with its default and type. A value comes from, in order:
Django settings (``faceauth/settings.py``, ``override_settings`` in tests), the environment
variable of the same name (parsed with django-environ, like every other setting), the default.
The environment is read when the app loads, so a bad value stops the start with a message
that names the variable, not a crash at the first request that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_EXPECTED = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


@dataclass(frozen=True)
class Setting:
    default: Any
    # The type an environment value is parsed as; None: the default's type.
    type: type | None = None
    # An empty environment value means None (an optional setting).
    optional: bool = False

    @property
    def kind(self) -> type:
        return self.type or type(self.default)


class AppSettings:
    def __init__(self, declared: Mapping[str, Setting], environ_: Mapping[str, str] | None = None):
        self.declared = dict(declared)
        source = os.environ if environ_ is None else environ_
        self._from_env = {
            name: _parse(name, spec, source[name])
            for name, spec in self.declared.items()
            if name in source
        }

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.declared.items()}

    def get(self, name: str) -> Any:
        if name not in self.declared:
            raise KeyError(f"{name} is not a declared setting")
        if hasattr(settings, name):
            return getattr(settings, name)
        if name in self._from_env:
            return self._from_env[name]
        return self.declared[name].default


# django-environ reads any word it does not know as False: a typo must not turn a switch off.
_BOOL_WORDS = {*environ.Env.BOOLEAN_TRUE_STRINGS, "false", "off", "no", "n", "0"}


def _parse(name: str, spec: Setting, raw: str) -> Any:
    if spec.optional and raw.strip() == "":
        return None
    kind = spec.kind
    if kind not in _EXPECTED:
        raise TypeError(f"{name}: no environment parser for {kind.__name__}")
    try:
        if kind is bool and raw.strip().lower() not in _BOOL_WORDS:
            raise ValueError(raw)
        return environ.Env.parse_value(raw.strip(), kind)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"environment variable {name}={raw!r} is not valid: expected {_EXPECTED[kind]}"
        ) from exc

"""Integer query parameters of the API, parsed in one place: a bad value is a 400 with code
``invalid_query_parameter``, never a 500. Unchecked, a huge id reached SQL and overflowed the
database's integer (SQLite OverflowError, PostgreSQL "out of range"), and a negative limit
reached a queryset slice (security finding 13)."""

import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from .errors import DomainError

# The largest value a BigAutoField id (PostgreSQL bigint, SQLite INTEGER) can hold.
MAX_ID = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")


class InvalidQueryParameter(DomainError):
    code = "invalid_query_parameter"
    message = _("A query parameter is not a valid integer.")


def query_int(
    params: Mapping[str, str],
    name: str,
    *,
    minimum: int = 1,
    maximum: int = MAX_ID,
    default: int | None = None,
) -> int | None:
    """``params[name]`` as an int in ``minimum..maximum``; ``default`` when absent or empty."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise InvalidQueryParameter(f"{name} must be an integer from {minimum} to {maximum}.")
    return int(raw)

"""API pagination with bounded parameters."""

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset with a ceiling on ``limit``: unbounded, a client-chosen limit goes
    into SQL, and a huge one overflows the database's integer type (a 500 found by fuzzing:
    ``?limit=11454084481314983228997632``). Larger values are served as ``max_limit``."""

    max_limit = 1000

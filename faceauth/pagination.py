"""API pagination with bounded parameters."""

from rest_framework.pagination import LimitOffsetPagination

from accounts.query_params import MAX_ID, query_int


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset, parsed by accounts.query_params: a malformed, negative or
    out-of-range ``limit`` or ``offset`` is a 400 ``invalid_query_parameter`` (unchecked, a
    huge offset overflowed the database's integer: a 500). A ``limit`` above ``max_limit`` is
    served as ``max_limit`` (a 500 found by fuzzing: ``?limit=11454084481314983228997632``
    went into SQL)."""

    max_limit = 1000

    def get_limit(self, request) -> int:
        limit = query_int(request.query_params, self.limit_query_param, default=self.default_limit)
        return min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        params = request.query_params
        return query_int(params, self.offset_query_param, minimum=0, maximum=MAX_ID // 2, default=0)

"""Django's Redis cache with one client object per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
operation. redis-py's constructor registers ~170 response callbacks each time: ~0.7 ms of CPU,
and a streamed clock-in makes ~60 cache operations (the nonce, the stream's state and its lock,
the request limits), so ~45 ms of its CPU went to building clients (benchmarks/load.py). A
``redis.Redis`` is safe to share between threads: the pool hands each command its connection,
and after a fork it drops the parent's connections itself.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}  # connection pool -> its client

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

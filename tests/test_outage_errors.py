"""A backing service outage answers a JSON 503 with Retry-After, never an HTML 500."""

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts import api as accounts_api


@pytest.mark.parametrize("error", [RedisConnectionError("down"), OperationalError("down")])
def test_an_outage_in_an_api_view_is_a_json_503(client, people, monkeypatch, error):
    def boom(self, request, *args, **kwargs):
        raise error

    monkeypatch.setattr(accounts_api.MeView, "get", boom)
    client.force_login(people["employee"])
    response = client.get("/api/accounts/me/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"

"""List APIs bound client-chosen page sizes (found by fuzzing: a huge limit was a 500)."""

import pytest

from faceauth.pagination import BoundedLimitOffsetPagination

LISTS = ["/api/accounts/people/", "/api/attendance/events/", "/api/access/events/"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "query, status",
    [
        # Beyond the database's integer: a clear 400 (accounts.query_params), never a 500.
        ("limit=11454084481314983228997632&offset=-476970", 400),
        ("limit=99999999999&offset=99999999999", 200),
    ],
)
def test_huge_limits_and_offsets_are_not_server_errors(client, people, url, query, status):
    client.force_login(people["admin"])
    response = client.get(f"{url}?{query}")
    assert response.status_code == status, response.content
    if status == 200:
        assert len(response.json()["results"]) <= BoundedLimitOffsetPagination.max_limit
    else:
        assert response.json()["code"] == "invalid_query_parameter"


def test_limit_is_capped_not_refused(client, people, make_person):
    for _ in range(3):
        make_person("employee")
    client.force_login(people["admin"])
    body = client.get("/api/accounts/people/?limit=2").json()
    assert len(body["results"]) == 2 and body["count"] >= 9
    assert BoundedLimitOffsetPagination().get_limit(_Request({"limit": "10" * 9})) == 1000


class _Request:
    def __init__(self, params: dict) -> None:
        self.query_params = params

"""List APIs bound client-chosen page sizes (found by fuzzing: a huge limit was a 500)."""

import pytest

from faceauth.pagination import BoundedLimitOffsetPagination

LISTS = ["/api/accounts/people/", "/api/attendance/events/", "/api/access/events/"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "query",
    ["limit=11454084481314983228997632&offset=-476970", "limit=99999999999&offset=99999999999"],
)
def test_huge_limits_and_offsets_are_not_server_errors(client, people, url, query):
    client.force_login(people["admin"])
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= BoundedLimitOffsetPagination.max_limit


def test_limit_is_capped_not_refused(client, people, make_person):
    for _ in range(3):
        make_person("employee")
    client.force_login(people["admin"])
    body = client.get("/api/accounts/people/?limit=2").json()
    assert len(body["results"]) == 2 and body["count"] >= 9
    assert BoundedLimitOffsetPagination().get_limit(_Request({"limit": "10" * 20})) == 1000


class _Request:
    def __init__(self, params: dict) -> None:
        self.query_params = params

"""Finding 13: out-of-range or malformed integers in API query parameters answer 400
``invalid_query_parameter`` (accounts.query_params), never a 500."""

import pytest

HUGE = "9" * 30
BIGINT_PLUS_ONE = str(2**63)

VARIANTS = [
    ("/api/attendance/events/", "person", HUGE),
    ("/api/attendance/events/", "person", BIGINT_PLUS_ONE),
    ("/api/attendance/events/", "person", "-3"),
    ("/api/attendance/events/", "person", "abc"),
    ("/api/attendance/sessions/", "person", HUGE),
    ("/api/attendance/sessions/", "person", "1e3"),
    ("/api/attendance/events/", "offset", HUGE),
    ("/api/attendance/events/", "offset", "-1"),
    ("/api/attendance/sessions/", "limit", "-1"),
    ("/api/attendance/sessions/", "limit", HUGE + "x"),
    ("/api/accounts/people/", "offset", HUGE),
    ("/api/accounts/people/", "limit", "0"),
    ("/api/access/events/", "area", HUGE),
    ("/api/access/events/", "point", HUGE),
    ("/api/access/events/", "since", HUGE),
    ("/api/access/events/", "limit", "-1"),
    ("/api/access/events/", "limit", "0"),
    ("/api/access/events/", "area", "x"),
    ("/api/access/console/", "since", HUGE),
    ("/api/access/console/", "area", BIGINT_PLUS_ONE),
    ("/api/access/console/", "point", "-5"),
]


@pytest.mark.parametrize("path, name, value", VARIANTS)
def test_bad_integer_query_parameter_is_a_clear_400(client, people, path, name, value):
    client.force_login(people["admin"])
    response = client.get(path, {name: value})
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid_query_parameter"
    assert name in response.json()["detail"]


@pytest.mark.parametrize(
    "path, query",
    [
        ("/api/attendance/events/", {"person": "1", "limit": "5", "offset": "0"}),
        ("/api/attendance/sessions/", {"person": ""}),
        ("/api/access/events/", {"area": "", "point": "1", "since": "0", "limit": "5000"}),
        ("/api/access/console/", {"since": "0"}),
        ("/api/accounts/people/", {"limit": "5000", "offset": "2"}),
    ],
)
def test_valid_integer_query_parameters_still_work(client, people, path, query):
    client.force_login(people["admin"])
    assert client.get(path, query).status_code == 200


@pytest.mark.parametrize(
    "path, name",
    [
        ("/access/events/", "area"),
        ("/access/events/", "point"),
        ("/reports/attendance/", "person"),
        ("/reports/attendance/", "department"),
        ("/reports/access/data/", "area"),
    ],
)
def test_bad_integers_in_page_filters_are_not_server_errors(client, people, path, name):
    client.force_login(people["admin"])
    for value in (HUGE, BIGINT_PLUS_ONE, "-1", "x"):
        assert client.get(path, {name: value}).status_code < 500, (path, name, value)

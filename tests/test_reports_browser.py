"""The report dashboards in headless Chromium: every chart draws data, a filter redraws them,
no CSP violation. Screenshots go to test-artifacts/."""

import pytest
from django.core.management import call_command

from .conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "faceauth-demo"

CHARTS_WITH_DATA = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const chart = Chart.getChart(c);
  const points = chart ? chart.data.datasets.reduce(
    (n, d) => n + d.data.filter(v => Number(v) > 0).length, 0) : 0;
  return [c.dataset.chart, points, c.width > 0 && c.height > 0];
})"""


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def demo(make_person):
    admin = make_person("admin", username="boss", password=PASSWORD, display_name="Boss Admin")
    call_command("seed_demo", people=24, days=21, verbosity=0)
    return admin


def sign_in(chromium, live_server, username: str):
    page = chromium().new_page()
    errors = []
    # CSP violations and script errors; failed requests other than the favicon.
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and errors.append(m.text)
        ),
    )
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")
            and errors.append(f"{r.status} {r.url}")
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page, errors


def open_report(page, live_server, path: str) -> list:
    page.goto(live_server.url + path)
    page.wait_for_selector("body[data-loaded]")
    return page.evaluate(CHARTS_WITH_DATA)


def assert_all_drawn(charts: list, expected: int) -> None:
    assert len(charts) == expected
    empty = [name for name, points, sized in charts if not points or not sized]
    assert not empty, f"charts without data: {empty}"


def test_dashboards_draw_every_chart_and_a_filter_redraws(chromium, live_server, demo):
    page, errors = sign_in(chromium, live_server, "boss")

    charts = open_report(page, live_server, "/reports/attendance/")
    assert_all_drawn(charts, 4)  # days, hours, lateness, methods
    assert page.locator("table[data-table=people] tbody tr").count() > 10
    page.screenshot(path=str(ARTIFACTS / "reports-attendance.png"), full_page=True)

    before = page.evaluate(
        "() => Chart.getChart(document.querySelector('#chart-hours')).data.labels"
    )
    page.select_option("select[name=department]", label="Research Lab")
    page.click("#report-filters button[type=submit]")
    page.wait_for_selector("body[data-loaded*='department=']")
    after = page.evaluate(
        "() => Chart.getChart(document.querySelector('#chart-hours')).data.labels"
    )
    assert after and set(after) < set(before)
    assert "department=" in page.get_attribute("a.csv[data-export=people]", "href")
    page.screenshot(path=str(ARTIFACTS / "reports-attendance-filtered.png"), full_page=True)

    # Click-through: the person page draws that person's days.
    person_url = page.get_attribute("table[data-table=people] tbody tr a", "href")
    page.goto(live_server.url + person_url)
    assert_all_drawn(page.evaluate(CHARTS_WITH_DATA), 1)
    page.screenshot(path=str(ARTIFACTS / "reports-person.png"), full_page=True)

    assert_all_drawn(open_report(page, live_server, "/reports/access/"), 8)
    assert page.locator("#heatmap td").count() == 7 * 24
    page.screenshot(path=str(ARTIFACTS / "reports-access.png"), full_page=True)

    assert_all_drawn(open_report(page, live_server, "/reports/security/"), 3)
    page.screenshot(path=str(ARTIFACTS / "reports-security.png"), full_page=True)
    assert not errors, errors


def test_manager_sees_their_department_only(chromium, live_server, demo):
    # seed-0001 is the seeded manager of Operations.
    page, errors = sign_in(chromium, live_server, "seed-0001")
    assert_all_drawn(open_report(page, live_server, "/reports/attendance/"), 4)
    departments = page.locator("table[data-table=people] tbody td:nth-child(2)").all_inner_texts()
    assert departments and set(departments) == {"Operations"}
    assert page.locator("select[name=department]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "reports-attendance-manager.png"), full_page=True)
    assert not errors, errors

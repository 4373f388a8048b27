"""Every page of every role in headless Chromium: axe-core finds no serious or critical
violation, nothing scrolls sideways at 360 px, the top menu keeps to one line at 1366 px, and
no page shows a raw reason code. Plus the own error pages, the favicon, the readable access
log and the visitor's home page (Django test client).

The page list comes from the authorization table (faceauth/authorization.py): every page row
a role may use, reversed without arguments, or with the fixture arguments of ``ARG_PAGES``; a
page that answers something other than 200 HTML to a GET (a CSV, a POST-only action, a
redirect) is not a page to scan. Screenshots go to test-artifacts/ui-*.png.
"""

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from faceauth import authorization as table

from .conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct-horse-battery"
ROLES = ("admin", "manager", "guard", "employee", "visitor", "contractor")
BLOCKING = ("serious", "critical")
# Rows of the table that are not pages a person reads: machine answers, downloads, actions,
# the identity provider's protocol endpoints, and the admin site (Django's own templates).
NOT_PAGES = {
    "healthz",
    "readyz",
    "metrics",
    "favicon",
    "logout",
    "unpair-device",
    "subject-access-export",
    "oauth2_provider:authorize",  # needs a client's query; its consent page: identity tests
    "oauth2_provider:token",
    "oauth2_provider:revoke-token",
    "oauth2_provider:oidc-connect-discovery-info",
    "oauth2_provider:jwks-info",
    "oauth2_provider:rp-initiated-logout",
}
# Codes of the reason catalogue that must never reach a page as they are.
RAW_CODES = re.compile(
    r"\b(not_recognised|not_authorised|rule_allows|pass_valid|low_quality|spoof_suspected|"
    r"wrong_pin|badge_unknown|face_mismatch|not_enrolled|person_validity|denied_by_rule|"
    r"pass_revoked|pass_expired|pass_not_started|pass_pending|not_on_pass|outside_schedule|"
    r"no_rule|door_inactive|static_image|no_challenge_response|missing_out|missing_in|face_1n|"
    r"face_1v1)\b"
)

OVERFLOW = "() => document.documentElement.scrollWidth"
# The spread of the vertical centres of the brand, the menu entries and the signed-in block:
# on one line it is a few pixels, a wrapped menu adds a line height.
MENU_SPREAD = """() => {
  const items = Array.from(document.querySelectorAll(
    '.topbar .brand, .topbar .menu > li, .topbar .who, .topbar .menu-toggle'
  )).filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect());
  const centres = items.map(r => r.top + r.height / 2);
  return Math.max(...centres) - Math.min(...centres);
}"""
# axe-core is loaded into every page of a context once, by add_init_script (new_context):
# no 500 kB script sent per scan.
AXE_RUN = "async () => await axe.run(document, {resultTypes: ['violations']})"
MAIN_TEXT = "() => document.body.innerText"
READY = """() => {
  const reports = document.querySelector('[data-panel]');
  return !reports || document.body.hasAttribute('data-loaded');
}"""


@pytest.fixture
def site(people, door_device, kiosk):
    """People of every role, one door with a rule, a pass for the visitor and the contractor,
    and a few log rows (with reasons) for the logs and reports to show."""
    from access_control import services as access
    from access_control.models import AccessPoint, AccessRule, Area

    lobby = Area.objects.create(
        name="Lobby", department=people["manager"].department, contractor_passes=True
    )
    lab = Area.objects.create(name="Lab 2", parent=lobby, contractor_passes=True)
    point = AccessPoint.objects.create(name="Lobby door", area=lobby, device=door_device)
    point.token = door_device.token
    AccessRule.objects.create(role="employee", effect="allow", name="Staff").areas.add(lobby)
    now = timezone.now()
    passes = {}
    for role in ("visitor", "contractor"):
        passes[role] = access.create_pass(
            visitor=people[role],
            sponsor=people["admin"],
            created_by=people["admin"],
            areas=[lobby] if role == "visitor" else [lobby, lab],
            starts_at=now - timedelta(minutes=30),
            ends_at=now + timedelta(hours=6),
            purpose=f"{role.title()} meeting",
        )
    for person, granted, reason in (
        (people["employee"], True, "rule_allows"),
        (None, False, "not_recognised"),
        (people["visitor"], True, "pass_valid"),
    ):
        access.record_event(access_point=point, person=person, granted=granted, reason=reason)
    return {
        "people": people,
        "door": point,
        "door_device": door_device,
        "kiosk": kiosk,
        "passes": passes,
    }


# Arguments for the page rows that need them, from the site fixture.
ARG_PAGES = {
    "access:door": lambda site: [site["door"].pk],
    "access:pass-detail": lambda site: [site["passes"]["visitor"].pk],
    "people:detail": lambda site: [site["people"]["employee"].pk],
    "people:edit": lambda site: [site["people"]["employee"].pk],
    "reports:person": lambda site: [site["people"]["employee"].pk],
    # Device pages: those that are POST-only actions drop out in html_pages.
    "devices:detail": lambda site: [site["kiosk"].pk],
    "devices:link": lambda site: [site["kiosk"].pk],
    "devices:rotate": lambda site: [site["kiosk"].pk],
    "devices:revoke": lambda site: [site["kiosk"].pk],
    "devices:access-point": lambda site: [site["door_device"].pk],
}
# Page rows with arguments that are actions (POST) or one-time links, not pages to scan.
ACTION_PAGES = {
    "people:offboard",
    "people:reactivate",
    "people:link",
    "people:link-revoke",
    "identity:app-revoke",
    "identity:passkey-remove",
    "attendance:approval-decide",
    "devices:pair",  # a one-time pairing token: tested by the device pages' own tests
    "enrol-link",  # a one-time token: its page is scanned by the enrolment link's own test
}


def pages_of(principal: str, site) -> tuple[list[str], list[str], set[str]]:
    """(paths to scan, page rows without arguments to scan them with, the paths whose axe scan
    falls to this role).

    axe checks a page's markup, and a page that several roles may open is the same template for
    each: it runs once per page, for the first role of ``ROLES`` the table lets in, and on every
    role's home page (where the role's own menu is). Every role still loads each of its pages
    for the checks whose answer depends on what the role sees: the width at 360 px, the top bar
    at 1366 px and raw reason codes.
    """
    paths, missing, axe = [], [], {reverse("home")}
    for name, rule in table.URLS.items():
        if rule.kind != table.PAGE or name in NOT_PAGES or rule.kwarg:
            continue
        allowed = rule.allowed("GET")
        if principal not in allowed:
            continue
        try:
            path = reverse(name, args=ARG_PAGES[name](site) if name in ARG_PAGES else [])
        except NoReverseMatch:
            if name not in ACTION_PAGES:
                missing.append(name)
            continue
        paths.append(path)
        if next(role for role in ROLES if role in allowed) == principal:
            axe.add(path)
    return paths, missing, axe


def html_pages(client: Client, paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            out.append(path)
    return out


def sign_in(context, live_server, username: str):
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def pair(context, live_server, token: str, target: str):
    page = context.new_page()
    page.goto(f"{live_server.url}{reverse('pair-device')}?next={target}")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")
    return page


TIMINGS: dict[str, float] = {}


def _lap(name: str, started: float) -> float:
    now = time.monotonic()
    TIMINGS[name] = TIMINGS.get(name, 0.0) + now - started
    return now


def new_context(browser):
    from axe_playwright_python import sync_playwright as axe_module

    context = browser.new_context()
    context.add_init_script(path=str(Path(axe_module.__file__).with_name("axe.min.js")))
    return context


def scan(page, url: str, problems: list, tally: dict, shot: str = "", axe: bool = True) -> None:
    t = time.monotonic()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(url)
    page.wait_for_load_state("load")
    for _ in range(40):
        if page.evaluate(READY):
            break
        page.wait_for_timeout(100)
    t = _lap("load", t)
    result = page.evaluate(AXE_RUN) if axe else {"violations": []}
    t = _lap("axe", t)
    for violation in result["violations"]:
        key = f"{violation['impact']}: {violation['id']}"
        tally[key] = tally.get(key, 0) + 1
        if violation["impact"] in BLOCKING:
            targets = [n["target"] for n in violation["nodes"]][:3]
            problems.append(f"{url}: axe {violation['impact']} {violation['id']} {targets}")
    if page.evaluate(MENU_SPREAD) > 12:
        problems.append(f"{url}: the top bar wraps at 1366 px")
    codes = set(RAW_CODES.findall(page.evaluate(MAIN_TEXT)))
    if codes:
        problems.append(f"{url}: raw codes on the page {sorted(codes)}")
    if shot:
        page.screenshot(path=str(ARTIFACTS / f"ui-{shot}-1366.png"))
    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate(OVERFLOW)
    if width > 360:
        problems.append(f"{url}: {width} px wide at 360 px")
    if shot:
        page.screenshot(path=str(ARTIFACTS / f"ui-{shot}-360.png"), full_page=True)
    _lap("checks", t)


SHOTS = {
    ("admin", "/"): "home-admin",
    ("guard", "/access/console/"): "console",
    ("manager", "/access/events/"): "access-log",
    ("visitor", "/"): "home-visitor",
    ("employee", "/attendance/timesheet/"): "timesheet",
    ("admin", "/reports/access/"): "report-access",
}


# One test per role and for the device screens and anonymous pages: xdist spreads them.
GROUPS = (*ROLES, "screens", "anonymous")


@pytest.mark.browser
@pytest.mark.parametrize("group", GROUPS)
def test_every_page_of_every_role_is_accessible_and_fits_360_px(group, chromium, live_server, site):
    browser = chromium().browser
    problems: list[str] = []
    tally: dict[str, int] = {}
    scanned = 0
    if group in ROLES:
        person = site["people"][group]
        client = Client()
        client.force_login(person)
        paths, missing, axe = pages_of(group, site)
        assert not missing, f"{group}: give ARG_PAGES arguments for {missing}"
        context = new_context(browser)
        page = sign_in(context, live_server, person.username)
        expected = html_pages(client, paths)
        assert reverse("home") in expected
        for path in expected:
            shot = SHOTS.get((group, path), "")
            scan(page, live_server.url + path, problems, tally, shot, axe=path in axe)
            scanned += 1
        context.close()
    elif group == "screens":
        # The screens of a paired kiosk and door (no person signed in).
        expected = ["kiosk", "door"]
        for kind, token, target in (
            ("kiosk", site["kiosk"].token, reverse("attendance:kiosk")),
            ("door", site["door"].token, reverse("access:door", args=[site["door"].pk])),
        ):
            context = new_context(browser)
            page = pair(context, live_server, token, target)
            scan(page, live_server.url + target, problems, tally, kind)
            scanned += 1
            context.close()
    else:
        # The sign-in, pairing and public pages, and the 404 page.
        expected = [reverse("login"), reverse("pair-device"), reverse("privacy-notice"), "/nope/"]
        context = new_context(browser)
        page = context.new_page()
        for path in expected:
            scan(page, live_server.url + path, problems, tally)
            scanned += 1
        context.close()
    (ARTIFACTS / f"ui-axe-{group}.json").write_text(
        json.dumps(
            {
                "pages": scanned,
                "violations_by_impact": tally,
                "seconds": {k: round(v, 1) for k, v in TIMINGS.items()},
            },
            indent=2,
        )
    )
    assert scanned == len(expected) > 0
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_the_admin_site_has_no_serious_accessibility_violations(chromium, live_server, site):
    """The raw Django admin stays the back office (axe only: its change lists are wide tables,
    not made for 360 px): its index and the change lists an admin may open.

    Every change list with rows is scanned (its columns are the model's own markup). An empty
    one is Django's template with the admin's options, so one empty list per combination of
    filters, search, date hierarchy and actions stands for the others."""
    from django.contrib import admin

    context = new_context(chromium().browser)
    page = sign_in(context, live_server, site["people"]["admin"].username)
    paths, shapes = ["/admin/"], set()
    for model, model_admin in admin.site._registry.items():
        shape = (
            bool(model_admin.list_filter),
            bool(model_admin.search_fields),
            bool(model_admin.date_hierarchy),
            bool(model_admin.actions),
            model_admin.change_list_template,
        )
        if not model._default_manager.exists():
            if shape in shapes:
                continue
            shapes.add(shape)
        paths.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    problems = []
    for path in paths:
        page.goto(live_server.url + path)
        for violation in page.evaluate(AXE_RUN)["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [n["target"] for n in violation["nodes"]][:3]
                problems.append(f"{path}: axe {violation['impact']} {violation['id']} {targets}")
    context.close()
    assert len(paths) > 10
    assert not problems, "\n".join(problems)


def test_every_page_gets_its_axe_scan_from_some_role(site):
    """The axe scan of a page falls to the first role the table lets in (pages_of): that role
    must really see the page, or nobody would scan it."""
    seen, scanned = set(), set()
    for role in ROLES:
        client = Client()
        client.force_login(site["people"][role])
        paths, _, axe = pages_of(role, site)
        pages = html_pages(client, paths)
        seen.update(pages)
        scanned.update(set(pages) & axe)
    assert len(seen) > 20
    assert seen == scanned, f"pages no role scans with axe: {sorted(seen - scanned)}"


def test_every_page_row_is_known_to_the_scan():
    """A new page row with URL arguments needs its arguments in arg_pages (or a reason in
    NOT_PAGES); otherwise the scan above would silently skip it."""
    names = {
        name
        for name, rule in table.URLS.items()
        if rule.kind == table.PAGE and name not in NOT_PAGES and not rule.kwarg
    }
    needs_args = set()
    for name in names:
        try:
            reverse(name)
        except NoReverseMatch:
            needs_args.add(name)
    known = set(ARG_PAGES) | ACTION_PAGES
    assert needs_args <= known, f"no arguments for {sorted(needs_args - known)}"


# ----------------------------------------------------------------- without a browser


def test_mistyped_url_shows_the_own_404_page_even_with_debug_off(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and "favicon.svg" in body
    assert "URLconf" not in body


def test_forbidden_page_uses_the_own_403_page(client, people):
    client.force_login(people["employee"])
    response = client.get(reverse("access:console"))
    assert response.status_code == 403
    assert "You may not open this page" in response.content.decode()


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string

    body = render_to_string("500.html")
    assert "Something went wrong" in body


def test_favicon_ico_is_answered(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.svg")


def test_access_log_is_newest_first_with_dates_and_reason_texts(client, site):
    from access_control import services as access

    people, point = site["people"], site["door"]
    # Imported decisions from yesterday get later ids than today's: the log sorts by time.
    yesterday = timezone.now() - timedelta(days=1)
    access.record_past_events(
        decisions=[
            dict(
                access_point=point,
                person=people["employee"],
                granted=False,
                reason="outside_schedule",
                at=yesterday,
            )
        ]
    )
    client.force_login(people["manager"])
    body = client.get(reverse("access:events")).content.decode()
    rows = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', body)
    assert len(rows) == 4
    stamps = [stamp for stamp, _ in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert str(timezone.localdate().year) in rows[0][1]  # a date on every row, not only a time
    assert "Allow rules exist but not at this time or date" in body
    assert "The face matched nobody enrolled" in body
    assert not RAW_CODES.search(re.sub(r"<[^>]+>", " ", body))


def test_console_feed_rows_carry_the_date(client, site):
    client.force_login(site["people"]["guard"])
    events = client.get(reverse("api-access-console")).json()["events"]
    local = timezone.localtime(timezone.now())
    assert events and all(local.strftime("%Y") in e["when"] for e in events)
    assert {e["reason_label"] for e in events} >= {"The face matched nobody enrolled"}


def test_access_events_csv_has_the_reason_text(client, site):
    client.force_login(site["people"]["admin"])
    response = client.get(reverse("reports:export", args=["access", "events"]))
    text = b"".join(response.streaming_content).decode()
    header, *lines = text.strip().splitlines()
    assert header.split(",")[5:7] == ["reason", "reason_text"]
    assert any("The face matched nobody enrolled" in line for line in lines)


def test_visitor_home_shows_pass_areas_times_sponsor_and_door_steps(client, site):
    visitor = site["people"]["visitor"]
    visitor_pass = site["passes"]["visitor"]
    client.force_login(visitor)
    body = client.get(reverse("home")).content.decode()
    starts = visitor_pass.starts_at.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE))
    assert "Visitor meeting" in body and "Valid now" in body
    assert "Lobby" in body and "Lobby door" in body
    assert str(site["people"]["admin"]) in body
    assert starts.strftime("%H:%M") in body  # local time (DISPLAY_TIME_ZONE), not UTC
    assert "At the door" in body and "Your face is not registered yet" in body


def test_contractor_home_lists_the_areas_of_the_pass(client, site):
    client.force_login(site["people"]["contractor"])
    body = client.get(reverse("home")).content.decode()
    assert "Contractor meeting" in body and "Lab 2" in body


def test_menu_groups_fold_the_admin_menu():
    from faceauth.navigation import menu_tree

    items = [
        {"label": "Home", "url": "/", "group": ""},
        {"label": "Clock in", "url": "/c/", "group": "Attendance"},
        {"label": "My timesheet", "url": "/t/", "group": "Attendance"},
        {"label": "People", "url": "/p/", "group": "Manage"},
    ]
    tree = menu_tree(items)
    assert [e["label"] for e in tree] == ["Home", "Attendance", "People"]
    assert [i["label"] for i in tree[1]["links"]] == ["Clock in", "My timesheet"]


def test_admin_menu_has_plain_links_and_groups(client, people):
    client.force_login(people["admin"])
    body = client.get(reverse("home")).content.decode()
    assert '<li><a href="/" aria-current="page">Home</a></li>' in body
    toggles = re.findall(r'class="menu-group-toggle"[^>]*>([^<]+)</button>', body)
    assert toggles == ["Attendance", "Access", "Reports", "Manage"]


def test_resolver_and_table_agree_on_the_favicon():
    assert any(getattr(p, "name", None) == "favicon" for p in get_resolver().url_patterns)
    assert table.ANONYMOUS in table.URLS["favicon"].allowed("GET")


@pytest.mark.browser
def test_kiosk_works_by_keyboard_and_reads_answers_out(chromium, live_server, site):
    """P opens the PIN form with the focus in it; the answer reaches the permanent live region
    (role=status) that screen readers announce, not only the visible box."""
    context = chromium()
    page = pair(context, live_server, site["kiosk"].token, reverse("attendance:kiosk"))
    live = page.locator("#announce")
    assert live.get_attribute("role") == "status"
    assert live.get_attribute("aria-live") == "assertive"
    page.locator("body").press("p")
    assert page.evaluate("() => document.activeElement.id") == "employee-number"
    page.keyboard.type("NOBODY-1")
    page.keyboard.press("Tab")
    page.keyboard.type("0000")
    page.keyboard.press("Enter")
    for _ in range(150):  # the page CSP forbids eval: poll with a function, not a string
        if page.evaluate("() => document.getElementById('announce').textContent.length > 0"):
            break
        page.wait_for_timeout(100)
    assert "not correct" in live.text_content()

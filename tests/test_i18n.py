"""English and German (docs/i18n.md): the German catalogues are complete and compiled, every
main page of every role speaks German to a German browser with no English UI text left, the
switcher goes back to English and sticks, and in Chromium (locale de-DE) the pages' scripts
speak German and format dates and numbers the German way.
"""

import ast
import gettext
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from .conftest import ARTIFACTS
from .test_ui_pages import (  # noqa: F401  (site: the pages fixture)
    MENU_SPREAD,
    OVERFLOW,
    PASSWORD,
    html_pages,
    pages_of,
    site,
)

# Catalogues and rendered text: what a database or cache could change is proven elsewhere.
pytestmark = pytest.mark.backend_neutral

LOCALE = Path(settings.LOCALE_PATHS[0]) / "de" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ROLES = ("admin", "manager", "guard", "employee", "visitor", "contractor")
# Pages whose text is a document the site publishes (biometrics.PolicyDocument), not UI text.
STORED_TEXT = {reverse("privacy-notice"), reverse("retention-policy")}
# Every button of the kiosk's direction group inside the group's box (no text cut off).
FITS = """() => {
  const group = document.querySelector('.direction').getBoundingClientRect();
  return Array.from(document.querySelectorAll('.direction .dir'))
    .every(b => b.getBoundingClientRect().right <= group.right + 1);
}"""


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """LocaleMiddleware activates each request's language in the thread that serves it (the
    test's, with the test client) and leaves it there: later tests start in the default."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# ------------------------------------------------------------------ the catalogues


def _entries(po: Path) -> list[dict]:
    """The entries of a .po file: flags, msgctxt, msgid, msgid_plural and the msgstr(s)."""
    entries, entry, key = [], None, None
    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry = None
            continue
        entry = entry or {"flags": "", "strs": {}}
        if line.startswith("#,"):
            entry["flags"] += line
        elif line.startswith("#"):
            continue
        else:
            match = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (\".*\")$", line)
            if match:
                key = match.group(2) if match.group(2) else match.group(1)
                value = ast.literal_eval(match.group(3))
            else:
                value = ast.literal_eval(line)  # a continuation line
            if key.isdigit():
                entry["strs"][int(key)] = entry["strs"].get(int(key), "") + value
            else:
                entry[key] = entry.get(key, "") + value
    return entries


@pytest.mark.parametrize("domain", DOMAINS)
def test_german_catalogue_has_no_untranslated_or_fuzzy_entry(domain):
    entries = _entries(LOCALE / f"{domain}.po")
    messages = [e for e in entries if e.get("msgid")]
    assert len(messages) > 100, "the catalogue looks empty: run makemessages (docs/i18n.md)"
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    empty = [
        e["msgid"]
        for e in messages
        if ("msgid_plural" in e and not all(e["strs"].get(i) for i in (0, 1)))
        or ("msgid_plural" not in e and not e.get("msgstr"))
    ]
    assert not fuzzy, f"fuzzy entries in {domain}.po: {fuzzy[:5]}"
    assert not empty, f"untranslated entries in {domain}.po: {empty[:5]}"
    # A placeholder lost or misspelt in a translation breaks the sentence at run time.
    for e in messages:
        for source, text in [(e["msgid"], e.get("msgstr", ""))] + [
            (e.get("msgid_plural", e["msgid"]), s) for s in e["strs"].values()
        ]:
            if not text:
                continue
            wanted = sorted(set(re.findall(r"%\(\w+\)[sd]", source)))
            assert sorted(set(re.findall(r"%\(\w+\)[sd]", text))) == wanted, (source, text)


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_catalogue_is_up_to_date_with_the_po_file(domain):
    """The committed .mo holds exactly the .po's translations (a fresh machine needs no
    gettext): recompile with `manage.py compilemessages -l de` after editing the .po."""
    with open(LOCALE / f"{domain}.mo", "rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    compiled.pop("", None)  # the header
    expected = {}
    for e in _entries(LOCALE / f"{domain}.po"):
        if not e.get("msgid"):
            continue
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:
            expected.update({(key, i): text for i, text in e["strs"].items()})
        else:
            expected[key] = e["msgstr"]
    assert compiled == expected


# ------------------------------------------------------------------ the pages in German


def _english_ui_strings() -> list[str]:
    """Source texts whose German differs, long enough not to be a word of the data."""
    out = []
    for domain in DOMAINS:
        for e in _entries(LOCALE / f"{domain}.po"):
            source, german = e.get("msgid", ""), e.get("msgstr") or e["strs"].get(0, "")
            if len(source) >= 12 and "%" not in source and "<" not in source and german != source:
                out.append(source)
    return out


def _visible_html(body: str) -> str:
    """The page as a reader meets it: text and attributes, without scripts and JSON data."""
    body = re.sub(r"<script\b.*?</script>", " ", body, flags=re.S)
    return html.unescape(body)


@pytest.mark.django_db
def test_every_main_page_of_every_role_speaks_german_to_a_german_browser(site):  # noqa: F811
    english = _english_ui_strings()
    assert len(english) > 300
    checked = 0
    for role in ROLES:
        client = Client(**GERMAN)
        client.force_login(site["people"][role])
        paths, _, _ = pages_of(role, site)
        for path in html_pages(client, paths):
            body = client.get(path).content.decode()
            assert '<html lang="de">' in body, path
            if path in STORED_TEXT:
                continue  # the site's published document, in the language it was written in
            page = _visible_html(body)
            left = [s for s in english if s in page]
            assert not left, f"{role} {path}: English UI text on a German page: {left[:5]}"
            checked += 1
    assert checked >= 30
    # Signed out: the sign-in page and the own 404 page.
    anonymous = Client(**GERMAN)
    body = anonymous.get(reverse("login")).content.decode()
    assert "Anmelden" in body and "Benutzername" in body and "Sign in" not in body
    body = anonymous.get("/nope/").content.decode()
    assert "Seite nicht gefunden" in body and "Page not found" not in body


@pytest.mark.django_db
def test_german_pages_show_german_dates_numbers_and_reason_texts(site):  # noqa: F811
    client = Client(**GERMAN)
    client.force_login(site["people"]["manager"])
    body = client.get(reverse("access:events")).content.decode()
    # A log row's time in the German order (tests run on the fixed clock, tests/conftest.py).
    assert re.search(
        r"<time [^>]*>(Mo|Di|Mi|Do|Fr|Sa|So), \d{1,2}\. \w{3} \d{4}, \d\d:\d\d:\d\d<", body
    )
    assert "Das Gesicht passt zu keiner registrierten Person" in body  # the reason catalogue
    assert "Verweigert" in body and "Gewährt" in body
    # Numbers: a person's hours with a decimal comma, days in German (the rows keep ISO).
    from attendance.models import ClockEvent
    from attendance.services import rebuild_sessions

    employee = site["people"]["employee"]
    now = timezone.now()
    for minutes_ago, direction in ((150, "in"), (60, "out")):
        ClockEvent.objects.create(
            person=employee,
            direction=direction,
            method="pin",
            timestamp=now - timedelta(minutes=minutes_ago),
        )
    rebuild_sessions(person=employee, since=now - timedelta(days=1))
    client.force_login(site["people"]["admin"])
    body = client.get(reverse("reports:person", args=[employee.pk])).content.decode()
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\d">(Mo|Di|Mi|Do|Fr|Sa|So), \d', body)
    assert "<td>1,5</td>" in body, "1.5 hours, German style"
    client.force_login(site["people"]["visitor"])
    body = client.get(reverse("home")).content.decode()
    assert "Ihr Besucherausweis" in body and "Jetzt gültig" in body
    assert re.search(r"(Mo|Di|Mi|Do|Fr|Sa|So), \d{1,2}\. \w{3} \d{4}, \d\d:\d\d", body)


@pytest.mark.django_db
def test_api_keeps_its_codes_and_speaks_the_language_in_its_messages(site):  # noqa: F811
    client = Client(**GERMAN)
    client.force_login(site["people"]["employee"])
    answer = client.get("/api/attendance/events/?from=not-a-date").json()
    assert answer["code"] == "invalid_date"  # machine codes stay as they are
    assert answer["detail"] == "Datumsangaben im Format JJJJ-MM-TT."


@pytest.mark.django_db
def test_switcher_sets_the_language_over_the_browser_and_back(site):  # noqa: F811
    client = Client(**GERMAN)
    client.force_login(site["people"]["employee"])
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="de">' in body and "Abmelden" in body
    assert 'action="/i18n/setlang/"' in body and '<label for="lang-select"' in body
    response = client.post(reverse("set_language"), {"language": "en-gb", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en-gb"
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="en-gb">' in body and "Sign out" in body and "Abmelden" not in body
    # And back: the cookie outranks the browser's Accept-Language.
    client.post(reverse("set_language"), {"language": "de", "next": "/"})
    english_browser = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="de">' in english_browser.content.decode()


@pytest.mark.django_db
def test_a_client_that_asks_for_nothing_gets_british_english(site):  # noqa: F811
    client = Client()
    client.force_login(site["people"]["employee"])
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="en-gb">' in body and "Welcome" in body


@pytest.mark.django_db
def test_the_switcher_refuses_a_language_the_site_does_not_ship(site):  # noqa: F811
    client = Client(**GERMAN)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    body = client.get(reverse("login")).content.decode()
    assert '<html lang="de">' in body


# ------------------------------------------------------------------ Chromium, de-DE


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_german_ui_in_chromium(chromium, live_server, site):  # noqa: F811
    """A guard's browser set to German: server pages, script texts (console, report), German
    dates and numbers (Intl), then the switcher back to English."""
    browser = chromium().browser
    context = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    assert page.get_attribute("html", "lang") == "de"
    assert page.locator("button[type=submit]").inner_text() == "Anmelden"
    page.fill("input[name=username]", site["people"]["guard"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    assert "Willkommen" in page.inner_text("main")

    # The guard console: its rows and status line are drawn by console.js.
    page.goto(live_server.url + reverse("access:console"))
    page.wait_for_function(
        "() => /aktualisiert/.test(document.getElementById('live-text').textContent)"
    )
    live = page.inner_text("#live-text")
    assert re.fullmatch(r"Live · aktualisiert \d\d:\d\d:\d\d", live), live
    log = page.inner_text("#log-body")
    assert "Gewährt" in log and "Verweigert" in log and "Unbekannt" in log
    assert re.search(r"(Mo|Di|Mi|Do|Fr|Sa|So), \d{1,2}\. \w{3} \d{4}, \d\d:\d\d:\d\d", log)
    assert "Granted" not in log and "Unknown" not in log

    # The access report: KPIs and the weekday heat map from reports.js, numbers by Intl.
    page.goto(live_server.url + reverse("reports:access"))
    page.wait_for_function("() => document.body.hasAttribute('data-loaded')")
    kpis = page.inner_text("#kpis")
    assert "Zutritte gewährt" in kpis
    assert re.search(r"verweigert \(33,3\s%\)", kpis), kpis  # 1 of 3: German decimal comma
    weekdays = page.locator("#heatmap th").all_inner_texts()
    assert "Mo" in weekdays and "So" in weekdays, weekdays
    page.screenshot(path=str(ARTIFACTS / "i18n-report-de.png"))

    # The switcher, by keyboard: English from now on, also after a reload.
    page.focus("#lang-select")
    page.select_option("#lang-select", "en-gb")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement.lang === 'en-gb'")
    page.wait_for_function("() => document.body.hasAttribute('data-loaded')")
    assert "entries granted" in page.inner_text("#kpis")
    page.reload()
    assert page.get_attribute("html", "lang") == "en-gb"
    assert "Sign out" in page.inner_text("header")
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_german_pages_keep_the_layout(chromium, live_server, site):  # noqa: F811
    """German words are longer: the admin's menu (the longest) still keeps to one line at
    1366 px, and no page scrolls sideways at 360 px; a paired kiosk greets in German."""
    browser = chromium().browser
    context = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", site["people"]["admin"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    problems = []
    for name in ("home", "people:list", "access:console", "reports:attendance", "devices:list"):
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(live_server.url + reverse(name))
        if page.evaluate(MENU_SPREAD) > 12:
            problems.append(f"{name}: the top bar wraps at 1366 px")
        page.set_viewport_size({"width": 360, "height": 800})
        width = page.evaluate(OVERFLOW)
        if width > 360:
            problems.append(f"{name}: {width} px wide at 360 px")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + reverse("home"))
    page.screenshot(path=str(ARTIFACTS / "i18n-home-admin-de.png"))
    assert not problems, problems
    context.close()

    # The kiosk: a paired screen in a German browser, its texts set by attendance-kiosk.js.
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    target = reverse("attendance:kiosk")
    page.goto(f"{live_server.url}{reverse('pair-device')}?next={target}")
    page.fill("input[name=token]", site["kiosk"].token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")
    assert page.get_attribute("html", "lang") == "de"
    assert page.inner_text("#kiosk-title") == "Ein- oder ausstempeln"
    page.wait_for_function(
        "() => !/Kamera wird gestartet/.test(document.getElementById('guide').textContent)",
        timeout=30000,
    )
    guide = page.inner_text("#guide")
    assert "Kamera" in guide or "Gesicht" in guide or "Stillhalten" in guide, guide
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.inner_text("#now"))
    assert page.locator(".dir").all_inner_texts() == ["Automatisch A", "Kommen I", "Gehen O"]
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate(FITS), f"the kiosk's buttons do not fit at {width} px"
        assert page.evaluate(OVERFLOW) <= width
    page.set_viewport_size({"width": 1280, "height": 800})
    page.keyboard.press("p")
    page.keyboard.type("NIEMAND-1")
    page.keyboard.press("Tab")
    page.keyboard.type("0000")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('announce').textContent.length > 0")
    # The server's refusal, in German, read out by the live region.
    assert "Personalnummer oder PIN ist nicht korrekt" in page.inner_text("#announce")
    page.screenshot(path=str(ARTIFACTS / "i18n-kiosk-de.png"))
    context.close()


@pytest.mark.django_db
def test_stored_names_do_not_follow_the_request_language(make_person, department, people):
    """A role's group and the admin history keep the source text, whoever's language is
    active when a person is onboarded (a German admin must not create a group "Führungskraft")."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Group

    with translation.override("de"):
        person = make_person("manager", department=department, actor=people["admin"])
    assert list(person.groups.values_list("name", flat=True)) == ["Manager"]
    assert not Group.objects.filter(name="Führungskraft").exists()
    history = LogEntry.objects.get(object_id=str(person.pk), user=people["admin"])
    assert history.change_message == "Onboarded as Manager"

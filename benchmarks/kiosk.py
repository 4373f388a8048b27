"""Page ready -> greeting at the kiosk, the door and the personal clock (and, with ``--pages
signin``, the face step of a sign-in), in real Chromium.

Starts, on 127.0.0.1 only, gunicorn (deploy/gunicorn.conf.py, 2 sync workers) on the embedded
database (SQLite in a temporary folder) with the shared cache in Redis (db 11 unless
--redis-db), liveness on (the shipped settings), the challenge forced to ``--challenge`` (blink
by default: the clips blink but cannot turn on request). Enrols person_01..03 from their stills
plus three frames of their clips, registers a kiosk and a door, then drives Debian's Chromium
(/usr/bin/chromium, Playwright) with each live clip as the fake webcam, ``--runs`` times per
page, a fresh page (and so a fresh camera, the clip from its start) per run.

The 15 fps ``*_live.mjpeg`` clips would play at double speed (Chromium plays raw MJPEG at
30 fps), so each is fed as a real-time 30 fps copy (every frame twice, made here in the
temporary folder, never committed); person_03 uses the shared ``person_03_live_30fps.mjpeg``.

Per run, in the page (performance.now(), checked by an init script every 20 ms and as the page
starts to leave): ready = the camera's first frame is playing; greeting = the page shows the
person's success (kiosk: the "Hello" answer; personal: the clock-in answer; door: GRANTED;
signin: "Signing you in", after which the page leaves for the next one, so the times are kept
in sessionStorage). The personal and sign-in pages are clicked at ready (they wait for a
click); the sign-in page is opened in a session signed in with the password only, as the face
step of an application's sign-in is. Between runs the near-duplicate replay memory of the
device and person is forgotten (each run stands for a separate visit of the same looping clip).

Server CPU: the gunicorn processes' CPU time (/proc) from the page's ready to its answer (the
guidance frames, the challenge, every chunk and the final request: all the server does for one
decision; the page load is not counted, a kiosk page stays open for days; the sign-in's count
ends once the next page has loaded), median over runs.
The VM's speed: ``liveness_engine_reference_ms`` (benchmarks/streams.py), measured first and
again at the end (``liveness_engine_reference_end_ms``), to compare CPU figures between machines:
``server_cpu_per_reference`` is the server CPU median in units of their mean. Stage timings:
the server's Prometheus histograms (faceauth_recognition_stage_seconds,
faceauth_liveness_stage_seconds where present) between the first and the last run.

  python benchmarks/kiosk.py --json out.json                 # 3 clips x 3 pages x 5 runs
  python benchmarks/kiosk.py --attack                        # the attack clip: every run refused
  python benchmarks/kiosk.py --pages signin                  # the sign-in face step
  python benchmarks/kiosk.py --soak 1800 --json soak.json    # one kiosk page, clip looping
  python benchmarks/kiosk.py --idle 60                        # one kiosk, nobody in front
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (benchmarks/load.py: the process CPU reading, the log line)
import streams  # noqa: E402  (benchmarks/streams.py: the clips' enrolment images)

log = load.log
REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "video"
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
PEOPLE = {  # clip person -> (display name, username)
    "person_01": ("Ana First", "bench01"),
    "person_02": ("Kate Second", "bench02"),
    "person_03": ("Oscar Third", "bench03"),
}
PASSWORD = "bench-horse-battery-9"
PAGES = ("kiosk", "door", "personal")  # the default set; "signin" on request
CLICKED = {"personal": "#clock-button", "signin": "#face-button"}  # pages that wait for a click

# In the page: first camera frame, success, refusal (performance.now() ms), checked every 20 ms
# and as the page starts to leave.
INIT_SCRIPT = r"""
(() => {
  const b = window.__bench = { ready: null, greeted: null, refused: null, refusedText: "",
                               greetings: 0, refusals: 0, lastText: "" };
  const ok = () => {
    const r = document.getElementById("result");
    const v = document.querySelector(".verdict");
    if (v && v.classList.contains("granted")) return v.textContent;
    if (r && !r.hidden && (r.classList.contains("ok") || r.classList.contains("info"))
        && /Hello|clocked|Clocked|Signing you in/.test(r.textContent)) return r.textContent;
    return null;
  };
  const bad = () => {
    const r = document.getElementById("result");
    const v = document.querySelector(".verdict");
    if (v && v.classList.contains("denied")) return v.textContent;
    if (r && !r.hidden && (r.classList.contains("warn") || r.classList.contains("bad")))
      return r.textContent;
    return null;
  };
  let lastOk = null, lastBad = null;
  const tick = () => {
    const cam = document.getElementById("cam");
    const now = performance.now();
    if (b.ready == null && cam && cam.readyState >= 2 && cam.videoWidth > 0) b.ready = now;
    const g = ok(), f = bad();
    if (g && g !== lastOk) {
      b.greetings += 1;
      if (b.greeted == null) {
        b.greeted = now;
        // The sign-in page leaves at once: keep the times for the next page of the tab.
        sessionStorage.setItem("__bench", JSON.stringify({ ready: b.ready, greeted: now }));
      }
    }
    if (f && f !== lastBad) {
      b.refusals += 1;
      if (b.refused == null) { b.refused = now; b.refusedText = f.replace(/\s+/g, " ").trim(); }
    }
    lastOk = g; lastBad = f;
    b.lastText = (g || f || "");
  };
  setInterval(tick, 20);
  // The sign-in page leaves right after showing its answer: look once more as it starts to.
  window.addEventListener("beforeunload", tick);
})();
"""


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def realtime_clip(name: str, workdir: Path) -> Path:
    """A 30 fps copy of a 15 fps raw MJPEG clip (every frame twice), as Chromium plays 30."""
    if name == "person_03":
        return VIDEO / "person_03_live_30fps.mjpeg"
    data = (VIDEO / f"{name}_live.mjpeg").read_bytes()
    starts = [m.start() for m in re.finditer(b"\xff\xd8\xff", data)]
    frames = [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
    out = workdir / f"{name}_live_30fps.mjpeg"
    out.write_bytes(b"".join(f + f for f in frames))
    return out


# ----------------------------------------------------------------- the server


class Server:
    def __init__(self, workdir: Path, port: int, redis_db: int, challenge: str) -> None:
        self.workdir, self.port = workdir, port
        metrics = workdir / "prometheus"
        metrics.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "faceauth.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "CACHE_KEY_PREFIX": f"kiosk-bench-{os.getpid()}",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "FACEAUTH_LIVENESS_FORCE_CHALLENGE": challenge,
            # One simulated person visits again and again: not an attack on the rate limits.
            "FACEAUTH_THROTTLE_DEVICE": "100000/min",
            "FACEAUTH_THROTTLE_CHALLENGE": "100000/min",
            "FACEAUTH_THROTTLE_GUIDANCE": "100000/min",
            "FACEAUTH_THROTTLE_IP": "100000/min",
        }
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def setup_django(self) -> None:
        for key, value in self.env.items():
            if key != "GUNICORN_BIND":
                os.environ[key] = value
        sys.path.insert(0, str(REPO))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def start(self) -> None:
        out = open(self.workdir / "web.log", "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "faceauth.wsgi"],
            cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        import httpx

        t0 = time.monotonic()
        while time.monotonic() - t0 < 180:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    log(f"gunicorn ready in {time.monotonic() - t0:.1f} s")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise SystemExit("gunicorn did not become ready")

    def stop(self) -> None:
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """CPU seconds of the gunicorn master and its workers so far."""
        return 0.0 if self.proc is None else load.process_cpu_seconds(self.proc.pid)


METRIC = re.compile(
    r"^(faceauth_\w*stage_seconds|django_http_requests_latency_seconds_by_view_method)"
    r"_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$"
)


def scrape(base: str) -> dict:
    import httpx

    out: dict = {}
    try:
        text = httpx.get(f"{base}/metrics", timeout=5).text
    except httpx.HTTPError:
        return out
    for line in text.splitlines():
        m = METRIC.match(line)
        if m:
            name, kind, labels, value = m.groups()
            stage = re.search(r'(?:stage|view)="([\w:.-]+)"', labels)
            purpose = re.search(r'purpose="(\w+)"', labels)
            family = name.replace("faceauth_", "").replace("_stage_seconds", "")
            family = "request" if family.startswith("django_http") else family
            key = (
                family,
                purpose.group(1) if purpose else "",
                stage.group(1) if stage else "",
                kind,
            )
            out[key] = out.get(key, 0.0) + float(value)
    return out


def stage_means(before: dict, after: dict) -> dict:
    means = {}
    for (family, purpose, stage, kind), total in after.items():
        if kind != "sum":
            continue
        n = after.get((family, purpose, stage, "count"), 0) - before.get(
            (family, purpose, stage, "count"), 0
        )
        if n > 0:
            s = total - before.get((family, purpose, stage, "sum"), 0)
            label = "/".join(x for x in (family, purpose, stage) if x)
            means[label] = {"mean_ms": round(s / n * 1000, 1), "count": int(n)}
    return means


# ----------------------------------------------------------------- the data


def prepare_data() -> dict:
    """People (enrolled), a kiosk, a door with a rule for employees; returns tokens and ids."""
    from access_control.models import AccessPoint, AccessRule, Area
    from accounts import services as accounts_services
    from accounts.models import Department, User
    from biometrics import privacy
    from biometrics import services as biometrics_services

    department, _ = Department.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    people = {}
    for clip, (name, username) in PEOPLE.items():
        person = User.objects.filter(username=username).first()
        if person is None:
            person = accounts_services.onboard_person(
                role="employee", username=username, display_name=name,
                employee_number=f"B{clip[-2:]}", password=PASSWORD, department=department,
            )  # fmt: skip
            privacy.give_consent(person=person, channel="paper")
            images = streams.enrolment_images(clip)
            job = biometrics_services.start_enrolment(person=person, images=images)
            job = biometrics_services.run_enrolment(job_id=str(job.pk))
            if job.status != "done":
                raise SystemExit(f"enrolment of {clip} failed: {job.error}")
        people[clip] = person
    kiosk, kiosk_token = accounts_services.register_device(name="Bench kiosk", kind="kiosk")
    door, door_token = accounts_services.register_device(name="Bench door", kind="door")
    area = Area.objects.create(name=f"Bench area {door.pk}")
    rule = AccessRule.objects.create(name=f"Bench employees {door.pk}", role="employee")
    rule.areas.set([area])
    point = AccessPoint.objects.create(name=f"Bench door {door.pk}", area=area, device=door)
    return {
        "people": people,
        "kiosk": (kiosk, kiosk_token),
        "door": (door, door_token, point.pk),
    }


def forget(data: dict, person) -> None:
    """Each run stands for another visit, but the fake camera plays the same clip from its
    start: its frames may come out byte for byte as in an earlier run, which the server rightly
    refuses as a replay. Forget the near-duplicate memory of the kiosk, door and person, and
    the exact-bytes memory (this run's own Redis key prefix only)."""
    import redis
    from django.conf import settings

    from biometrics.liveness import forget_recent_bursts

    forget_recent_bursts(device=data["kiosk"][0], person=person)
    forget_recent_bursts(device=data["door"][0])
    forget_recent_bursts(person=person)
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(f"{prefix}:*:liveness:burst:*", count=1000):
        client.delete(key)


# ----------------------------------------------------------------- the pages


def launch(playwright, clip: Path):
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]  # fmt: skip
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


def page_context(browser, server: Server, data: dict, page_kind: str, person):
    """A context paired as the kiosk/door, or signed in as the person; returns (ctx, url)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.add_init_script(INIT_SCRIPT)
    page = ctx.new_page()

    def pair(token: str, path: str) -> None:
        page.goto(f"{server.base}/accounts/device/pair/?next={path}")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{path}")

    def sign_in(path: str) -> None:
        page.goto(f"{server.base}/accounts/login/?next={path}")
        page.fill("input[name=username]", person.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{path}")

    if page_kind == "kiosk":
        path = "/attendance/kiosk/"
        pair(data["kiosk"][1], path)
    elif page_kind == "door":
        path = f"/access/door/{data['door'][2]}/"
        pair(data["door"][1], path)
    elif page_kind == "signin":
        # Signed in with the password; the face step then records the face factor (again on
        # each run) and leaves for the privacy notice, a page without a camera.
        sign_in("/privacy/")
        path = "/identity/face/?next=/privacy/"
    else:
        path = "/attendance/clock/"
        sign_in(path)
    page.close()
    return ctx, f"{server.base}{path}"


def one_run(
    ctx, url: str, page_kind: str, *, timeout_s: float, attack: bool, server: Server
) -> dict:
    """One visit. Server CPU is counted from the page's ready to its answer: the page load
    itself is not part of a decision (a kiosk page stays open for days)."""
    # A run that hangs in the browser shows where in the log (the run is not cut short).
    faulthandler.dump_traceback_later(timeout_s + 30)
    page = ctx.new_page()
    page.goto(url)
    t_end = time.monotonic() + timeout_s
    clicked = False
    state: dict = {}
    cpu0 = cpu1 = None
    while time.monotonic() < t_end:
        if page_kind == "signin" and "/identity/face/" not in page.url:
            # The face step answered and left; its times were kept as it left.
            page.wait_for_load_state("domcontentloaded", timeout=10_000)
            kept = page.evaluate("JSON.parse(sessionStorage.getItem('__bench') || 'null')")
            state = {**state, **(kept or {})}
            break
        try:
            current = page.evaluate("window.__bench")
        except Exception:  # the page leaving
            current = None
        if not current:  # between two pages: look again shortly
            time.sleep(0.02)
            continue
        state = current
        if cpu0 is None and state["ready"] is not None:
            cpu0 = server.cpu_seconds()
        if page_kind in CLICKED and state["ready"] is not None and not clicked:
            page.click(CLICKED[page_kind])
            clicked = True
        # The sign-in page leaves once it has answered: its next page is waited for (closing a
        # page in the middle of that navigation hung Playwright).
        if not attack and state["greeted"] is not None and page_kind != "signin":
            break
        if attack and state["refused"] is not None and cpu1 is None:
            cpu1 = server.cpu_seconds()
        time.sleep(0.02)
    if cpu1 is None:
        cpu1 = server.cpu_seconds()
    page.close()
    faulthandler.cancel_dump_traceback_later()
    ready, greeted, refused = state.get("ready"), state.get("greeted"), state.get("refused")
    return {
        "ready_ms": ready,
        "greeting_s": round((greeted - ready) / 1000, 3) if greeted and ready else None,
        "refused_s": round((refused - ready) / 1000, 3) if refused and ready else None,
        "refused_text": state.get("refusedText", "")[:160],
        "greetings": state.get("greetings", 0),
        "refusals": state.get("refusals", 0),
        "decision_cpu_s": round(cpu1 - cpu0, 3) if cpu0 is not None else None,
    }


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_s": round(statistics.median(values), 3) if values else None,
        "p95_s": round(percentile(values, 95), 3) if values else None,
        "max_s": round(max(values), 3) if values else None,
    }


def run_bench(args, server: Server, data: dict, workdir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    clips = [c for c in PEOPLE if c in args.clips]
    runs: list[dict] = []
    cpu_per_run: list[float] = []
    before = scrape(server.base)
    with sync_playwright() as pw:
        if args.attack:
            targets = [("attack_person_02_photo", VIDEO / "attack_person_02_photo.mjpeg")]
        else:
            targets = [(c, realtime_clip(c, workdir)) for c in clips]
        for clip, path in targets:
            person = data["people"].get(clip) or data["people"]["person_02"]
            browser = launch(pw, path)
            for page_kind in args.pages:
                ctx, url = page_context(browser, server, data, page_kind, person)
                for i in range(args.runs):
                    forget(data, person)
                    cpu0 = server.cpu_seconds()
                    res = one_run(
                        ctx, url, page_kind, timeout_s=args.timeout, attack=args.attack,
                        server=server,
                    )  # fmt: skip
                    cpu = server.cpu_seconds() - cpu0
                    res.update(clip=clip, page=page_kind, run=i, server_cpu_s=round(cpu, 3))
                    if res["decision_cpu_s"] is not None:
                        cpu_per_run.append(res["decision_cpu_s"])
                    runs.append(res)
                    log(f"{clip} {page_kind} #{i}: greeting {res['greeting_s']} s, refused "
                        f"{res['refused_s']} s ({res['refused_text'][:60]!r}), "
                        f"server CPU {cpu * 1000:.0f} ms with the page load, "
                        f"{(res['decision_cpu_s'] or 0) * 1000:.0f} ms from ready")  # fmt: skip
                ctx.close()
            browser.close()
    stages = stage_means(before, scrape(server.base))
    load = os.getloadavg()
    if args.attack:
        accepted = [r for r in runs if r["greetings"]]
        return {
            "attack": True,
            "runs": len(runs),
            "accepted": len(accepted),
            "refused": sum(1 for r in runs if r["refusals"] and not r["greetings"]),
            "first_refusal": summary([r["refused_s"] for r in runs if r["refused_s"]]),
            "server_cpu_ms_median": round(statistics.median(cpu_per_run) * 1000, 1)
            if cpu_per_run
            else None,
            "per_run": runs,
            "server_stages": stages,
            "loadavg_end": [round(x, 2) for x in load],
        }
    times = [r["greeting_s"] for r in runs if r["greeting_s"] is not None]
    per_page = {}
    for page_kind in args.pages:
        ts = [r["greeting_s"] for r in runs if r["page"] == page_kind and r["greeting_s"]]
        per_page[page_kind] = summary(ts)
        per_page[page_kind]["missing"] = sum(
            1 for r in runs if r["page"] == page_kind and r["greeting_s"] is None
        )
    per_clip = {
        c: summary([r["greeting_s"] for r in runs if r["clip"] == c and r["greeting_s"]])
        for c in clips
    }
    return {
        "challenge": args.challenge,
        "median_s": summary(times)["median_s"],
        "p95_s": summary(times)["p95_s"],
        "runs": len(runs),
        "greeted": len(times),
        "per_page": per_page,
        "per_clip": per_clip,
        "server_cpu_ms_median": round(statistics.median(cpu_per_run) * 1000, 1)
        if cpu_per_run
        else None,
        "server_stages": stages,
        "per_run": runs,
        "loadavg_end": [round(x, 2) for x in load],
    }


def soak(args, server: Server, data: dict, workdir: Path) -> dict:
    """One kiosk page, the clip looping, for ``--soak`` seconds: memory, greetings, errors."""
    from playwright.sync_api import sync_playwright

    person = data["people"]["person_03"]
    samples, errors = [], []
    with sync_playwright() as pw:
        browser = launch(pw, realtime_clip("person_03", workdir))
        ctx, url = page_context(browser, server, data, "kiosk", person)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)[:200]))
        cdp = ctx.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        t0 = time.monotonic()
        last_change, last_text = t0, None
        stuck = 0
        while time.monotonic() - t0 < args.soak:
            time.sleep(10)
            forget(data, person)  # each loop of the clip stands for another visit
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            state = page.evaluate(
                "({b: window.__bench, guide: (document.getElementById('guide') || {}).textContent})"
            )
            marker = (state["b"]["greetings"], state["b"]["refusals"], state["guide"])
            if marker != last_text:
                last_change, last_text = time.monotonic(), marker
            elif time.monotonic() - last_change > 60:
                stuck += 1  # nothing changed on screen for a minute with a face in front
            samples.append({
                "t_s": round(time.monotonic() - t0, 1),
                "js_heap_mb": round(metrics.get("JSHeapUsedSize", 0) / 2**20, 2),
                "dom_nodes": int(metrics.get("Nodes", 0)),
                "greetings": state["b"]["greetings"],
                "refusals": state["b"]["refusals"],
            })  # fmt: skip
        browser.close()
    heap = [s["js_heap_mb"] for s in samples]
    nodes = [s["dom_nodes"] for s in samples]
    # The heap is a sawtooth (garbage collection): compare medians of the quarters, after the
    # first (warm-up), not the extremes.
    quarters = [heap[k * len(heap) // 4 : (k + 1) * len(heap) // 4] for k in range(4)]
    medians = [round(statistics.median(q), 2) for q in quarters if q]
    return {
        "soak_s": args.soak,
        "samples": samples,
        "greetings": samples[-1]["greetings"] if samples else 0,
        "refusals": samples[-1]["refusals"] if samples else 0,
        "page_errors": errors,
        "stuck_minutes": stuck,
        "heap_mb_median_by_quarter": medians,
        "heap_growth_pct": round((medians[-1] / medians[1] - 1) * 100, 1)
        if len(medians) == 4
        else None,
        "dom_nodes_median_first_last_quarter": [
            statistics.median(nodes[: len(nodes) // 4] or nodes),
            statistics.median(nodes[3 * len(nodes) // 4 :] or nodes),
        ],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }


def idle(args, server: Server, data: dict, workdir: Path) -> dict:
    """One kiosk page with nobody in front (an empty room, streams.empty_scene_mjpeg) for
    ``--idle`` seconds: the guidance requests it sends and the server CPU they cost, per
    second. An idle kiosk is most of a kiosk's day, so this is what each one costs at rest."""
    from playwright.sync_api import sync_playwright

    sent: list[int] = []  # one entry per guidance request
    with sync_playwright() as pw:
        browser = launch(pw, streams.empty_scene_mjpeg(workdir / "empty.mjpeg", 4.0))
        ctx, url = page_context(browser, server, data, "kiosk", None)
        page = ctx.new_page()
        page.on("request", lambda r: "/api/biometrics/analyse/" in r.url and sent.append(1))
        page.goto(url)
        page.wait_for_timeout(3000)  # the camera starts, the first answers come
        count0, cpu0, t0 = len(sent), server.cpu_seconds(), time.monotonic()
        page.wait_for_timeout(args.idle * 1000)
        count, cpu, seconds = len(sent) - count0, server.cpu_seconds() - cpu0, time.monotonic() - t0
        skipped = page.evaluate("FaceCam.watch.skipped || 0")
        browser.close()
    return {
        "idle_s": round(seconds, 1),
        "analyse_requests": count,
        "analyse_per_s": round(count / seconds, 2),
        "server_cpu_ms_per_s": round(cpu * 1000 / seconds, 1),
        "frames_not_sent": skipped,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--clips", default=",".join(PEOPLE))
    parser.add_argument("--challenge", default="blink", help="forced challenge ('' = random)")
    parser.add_argument("--attack", action="store_true", help="the attack clip instead")
    parser.add_argument("--soak", type=float, default=0, help="seconds of one looping kiosk")
    parser.add_argument("--idle", type=float, default=0, help="seconds of one empty kiosk")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds per run")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--server-log", help="keep gunicorn's log (decisions with reasons) here")
    args = parser.parse_args()
    args.pages = [p for p in args.pages.split(",") if p]
    args.clips = [c for c in args.clips.split(",") if c]
    if args.attack:
        args.timeout = min(args.timeout, 12.0)
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    server = Server(workdir, args.port, args.redis_db, args.challenge)
    try:
        reference = streams.reference_in_subprocess()  # the VM's speed, before the load
        server.setup_django()
        data = prepare_data()
        server.start()
        load0 = [round(x, 2) for x in os.getloadavg()]
        if args.idle:
            report = idle(args, server, data, workdir)
        elif args.soak:
            report = soak(args, server, data, workdir)
        else:
            report = run_bench(args, server, data, workdir)
        report["loadavg_start"] = load0
        report["liveness_engine_reference_ms"] = reference
        report["cpus"] = os.cpu_count()
    finally:
        server.stop()
        if args.server_log and (workdir / "web.log").exists():
            shutil.copy(workdir / "web.log", args.server_log)
        shutil.rmtree(workdir, ignore_errors=True)
    # Again after the load: the reading moves (157-266 ms within one hour on one VM).
    report["liveness_engine_reference_end_ms"] = end = streams.reference_in_subprocess()
    if "server_cpu_ms_median" in report:
        report["server_cpu_per_reference"] = streams.per_reference(
            report["server_cpu_ms_median"], reference, end
        )
    brief = {k: v for k, v in report.items() if k not in ("per_run", "samples")}
    print(json.dumps(brief, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

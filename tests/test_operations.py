"""Operations: /metrics behind a token, /readyz, request ids in logs and tasks, no biometrics
in any log line. Recognition runs on real photos and the real dlib models."""

import io
import json
import logging
import re
import uuid

import numpy as np
import pytest

from biometrics import services
from biometrics.errors import BiometricError
from faceauth import health
from faceauth.logs import (
    REQUEST_ID_HEADER,
    TASK_HEADER,
    JsonFormatter,
    RequestIdFilter,
    current_request_id,
    request_id_var,
)

from .biometrics_helpers import enrol_now, photo, photos, upload
from .conftest import REPO, USES_SERVICES

TOKEN = "metrics-test-token-0123456789"
OUTSIDE = "203.0.113.7"  # TEST-NET-3: never on the allow-list


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "REMOTE_ADDR": OUTSIDE}


@pytest.fixture
def fresh_gallery(monkeypatch):
    # The gallery cache lives as long as the process; test databases restart its version at 1.
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def json_log():
    """Every log line of the test, formatted as production writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# ---------------------------------------------------------------- /metrics


@pytest.mark.django_db
def test_metrics_answer_404_without_credentials_and_403_with_a_wrong_token(client, metrics_token):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 404
    wrong = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    assert b"faceauth_" not in wrong.content


@pytest.mark.django_db
def test_metrics_with_no_token_configured_refuse_every_bearer(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


@pytest.mark.django_db
def test_metrics_are_served_to_the_token_and_to_allowed_addresses(client, metrics_token, settings):
    response = client.get("/metrics", **metrics_token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_total_by_method" in response.content
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_metrics_show_recognition_stages_decisions_enrolment_and_gallery(
    client, make_person, django_capture_on_commit_callbacks, metrics_token, fresh_gallery
):
    person = make_person("employee")
    enrol_now(person, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert services.verify_person(person=person, image=photo("deepface_02/4.jpg")).match
    assert services.identify_face(image=photo("deepface_02/4.jpg")).person == person
    with pytest.raises(BiometricError):
        services.identify_face(image=photo("_no_face/01.jpg"))

    client.get("/accounts/login/")  # one page through the whole middleware chain
    text = client.get("/metrics", **metrics_token).content.decode()
    for stage in ("decode", "detect", "quality", "chip", "descriptor"):
        for purpose in ("enrol", "verify", "identify"):
            assert (
                f'faceauth_recognition_stage_seconds_bucket{{le="0.001",purpose="{purpose}",'
                f'stage="{stage}"}}'
                in text
                or f'faceauth_recognition_stage_seconds_count{{purpose="{purpose}",'
                f'stage="{stage}"}}'
                in text
            ), (stage, purpose)
    assert 'faceauth_decisions_total{kind="verify",outcome="match",reason="threshold"}' in text
    assert 'faceauth_decisions_total{kind="identify",outcome="match",reason="threshold"}' in text
    assert 'faceauth_decisions_total{kind="identify",outcome="error",reason="no_face"}' in text
    assert 'faceauth_recognition_errors_total{code="no_face",purpose="identify"' in text
    assert 'faceauth_enrolment_jobs_total{state="done"}' in text
    assert 'faceauth_enrolment_samples_total{reason="",status="accepted"}' in text
    assert re.search(r"^faceauth_gallery_templates [1-9]", text, re.M)
    assert re.search(r"^faceauth_gallery_rebuilds_total [1-9]", text, re.M)
    assert "# TYPE faceauth_liveness_refusals_total counter" in text
    # Every series the Grafana dashboard plots exists (cAdvisor's container_* aside).
    dashboard = json.loads((REPO / "deploy/grafana/faceauth.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = set(re.findall(r"\b((?:faceauth|django)_\w+?)(?:_bucket)?\{", " ".join(exprs)))
    queue_only = {"faceauth_celery_queue_length", "faceauth_celery_broker_up"}
    for name in names - (set() if USES_SERVICES else queue_only):
        assert re.search(rf"^# TYPE {name} ", text, re.M), name
    if USES_SERVICES:
        assert 'faceauth_celery_queue_length{queue="celery"}' in text
        assert "faceauth_celery_broker_up 1.0" in text
    else:
        assert "faceauth_celery_queue_length" not in text  # no queue: tasks run in-process


# ---------------------------------------------------------------- probes


@pytest.mark.django_db
def test_readyz_reports_every_check_and_answers_200_when_all_pass(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    # ok/fail only: no backend names (security finding 16).
    assert body["checks"] == dict.fromkeys(("database", "cache", "broker", "face_models"), "ok")


@pytest.mark.django_db
def test_readyz_answers_503_when_a_check_fails_and_leaks_no_detail(client, monkeypatch):
    def cache_down():
        raise ConnectionError("redis://:hunter2@cache.internal:6379 refused")

    monkeypatch.setitem(health.CHECKS, "cache", cache_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == "fail"
    assert body["checks"]["database"] == "ok"
    assert b"ConnectionError" not in response.content
    assert b"hunter2" not in response.content and b"cache.internal" not in response.content


@pytest.mark.django_db
def test_probes_answer_a_pod_ip_host_and_plain_http(client, settings):
    # The kubelet calls http://<pod ip>:8000/readyz: neither ALLOWED_HOSTS nor the HTTPS
    # redirect may turn that into a 400 or a 301.
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").json() == {"status": "ok"}
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


# ---------------------------------------------------------------- request ids


@pytest.mark.django_db
def test_the_request_id_is_echoed_and_stamped_on_every_log_record(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="req-7f3a.1")
    assert response[REQUEST_ID_HEADER] == "req-7f3a.1"
    access = [r for r in caplog.records if r.name == "faceauth.requests"]
    assert access and all(r.request_id == "req-7f3a.1" for r in access)
    assert access[-1].status == 200 and access[-1].path == "/accounts/login/"
    assert current_request_id() is None  # cleared when the response is closed
    caplog.clear()
    client.get("/api/biometrics/verify/", HTTP_X_REQUEST_ID="req-401")
    refused = [r for r in caplog.records if r.name == "django.request"]
    assert refused and refused[-1].request_id == "req-401"  # logged after the middleware


@pytest.mark.django_db
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client):
    made = client.get("/healthz")[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected\nline')[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", forged) and forged != made


def test_the_request_id_travels_into_a_task_through_its_message_headers():
    from celery.signals import before_task_publish, task_prerun

    from faceauth.celery import ping

    published, seen = {}, []

    def on_publish(headers=None, **kwargs):
        published.update(headers)

    def on_prerun(**kwargs):
        seen.append(current_request_id())

    before_task_publish.connect(on_publish)
    task_prerun.connect(on_prerun)
    try:
        token = request_id_var.set("req-publish")
        try:
            before_task_publish.send(sender="faceauth.ping", headers=(headers := {}), body=())
        finally:
            request_id_var.reset(token)
        assert headers[TASK_HEADER] == "req-publish" == published[TASK_HEADER]
        # The worker side: the task runs under the id its message carried.
        assert ping.apply(headers={TASK_HEADER: "req-publish"}).get() == "pong"
        assert ping.apply().get() == "pong"  # beat's messages carry none: a new id
    finally:
        before_task_publish.disconnect(on_publish)
        task_prerun.disconnect(on_prerun)
    assert seen[0] == "req-publish"
    assert re.fullmatch(r"[0-9a-f]{32}", seen[1])
    assert current_request_id() is None


# ---------------------------------------------------------------- no biometrics in logs


BASE64_BLOB = re.compile(r"[A-Za-z0-9+/_-]{60,}={0,2}")
FLOAT_RUN = re.compile(r"(?:-?\d+\.\d+(?:e-?\d+)?[,\s\]]+){16,}")
FERNET = re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}")


def test_no_image_embedding_or_ciphertext_reaches_the_logs_and_decisions_are_complete(
    client,
    make_person,
    django_capture_on_commit_callbacks,
    kiosk,
    json_log,
    fresh_gallery,
    settings,
):
    # Single images on the device API; liveness bursts are tested with the liveness feature.
    settings.FACEAUTH_LIVENESS_ENABLED = False
    person = make_person("employee")
    enrol_now(person, photos("deepface_03", [1, 2, 3]), django_capture_on_commit_callbacks)
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}", "HTTP_X_REQUEST_ID": "req-door-1"}
    for probe in ("deepface_03/4.jpg", "deepface_04/1.jpg"):
        services.verify_person(person=person, image=photo(probe), where="test")
        answer = client.post(
            "/api/biometrics/identify/", {"image": upload("p.jpg", photo(probe))}, **auth
        )
        assert answer.status_code == 200, answer.content
    with pytest.raises(BiometricError):
        services.verify_person(person=person, image=photo("_no_face/01.jpg"))
    # ... and a clock-in at the kiosk: the whole enrol + clock-in run is in the captured log.
    clock = client.post(
        "/api/attendance/clock/",
        {"image": upload("c.jpg", photo("deepface_03/5.jpg")), "capture_id": str(uuid.uuid4())},
        **auth,
    )
    assert clock.status_code in (200, 201), clock.content

    raw = json_log.getvalue()
    lines = lines_of(json_log)
    assert lines and all(
        {"time", "level", "logger", "message", "request_id"} <= set(e) for e in lines
    )
    assert not BASE64_BLOB.search(raw), BASE64_BLOB.search(raw).group()[:80]
    assert not FLOAT_RUN.search(raw), FLOAT_RUN.search(raw).group()[:80]
    assert not FERNET.search(raw)
    assert "JFIF" not in raw and "\\u00ff\\u00d8" not in raw

    decisions = [e for e in lines if e["logger"] == "faceauth.decisions"]
    verify = [e for e in decisions if e["message"] == "verify"]
    identify = [e for e in decisions if e["message"] == "identify"]
    assert len(verify) == 2 and len(identify) == 3  # the third is the kiosk clock-in
    for entry in verify + identify:
        assert {"person", "score", "threshold", "model", "match"} <= set(entry), entry
        assert isinstance(entry["score"], float) and entry["model"]
    assert [e["match"] for e in verify] == [True, False]
    assert identify[0]["person"] == person.pk and identify[0]["request_id"] == "req-door-1"
    assert identify[1]["person"] is None
    assert identify[2]["person"] == person.pk
    assert any(e["message"] == "enrolment finished" for e in decisions)


def test_the_json_formatter_replaces_raw_bytes_and_vectors_by_their_size(json_log):
    vector = np.random.default_rng(0).normal(size=128).astype(np.float32)
    logging.getLogger("faceauth.test").info(
        "slip",
        extra={"image": b"\xff\xd8\xff\xe0" * 100, "embedding": vector, "floats": vector.tolist()},
    )
    (entry,) = [e for e in lines_of(json_log) if e["message"] == "slip"]
    assert entry["image"] == "<400 bytes>"
    assert entry["embedding"] == "<array 128>"
    assert entry["floats"] == "<128 floats>"


def test_plain_lines_for_make_run_show_the_request_id_and_extra_fields():
    from faceauth.logs import PlainFormatter

    record = logging.LogRecord("faceauth.decisions", logging.INFO, __file__, 1, "verify", (), None)
    record.person, record.score, record.embedding = 7, 0.91, np.zeros(128, np.float32)
    RequestIdFilter().filter(record)
    line = PlainFormatter().format(record)
    expected = "INFO faceauth.decisions [-] verify person=7 score=0.91 embedding=<array 128>"
    assert line.endswith(expected)

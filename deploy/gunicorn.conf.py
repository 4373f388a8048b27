"""gunicorn settings for the web image: `gunicorn -c deploy/gunicorn.conf.py faceauth.wsgi`.

Sync workers: a recognition request is ~30-60 ms of CPU-bound face work that holds the GIL,
so threads would add latency, not throughput. WEB_CONCURRENCY workers per pod (default 2, one
per core of the pod's CPU limit); scale out with more pods.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 1
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 25  # below the pod's terminationGracePeriodSeconds (30)
keepalive = 5
max_requests = 2000  # recycle slowly growing workers (numpy/dlib allocations)
max_requests_jitter = 200
worker_tmp_dir = "/dev/shm"  # heartbeat files off the (read-only) root filesystem
accesslog = None  # faceauth.requests writes a structured access line per request
errorlog = "-"
# The app (and below, the dlib models) load once in the master; forked workers share those
# pages copy-on-write instead of each reading ~100 MB of models.
preload_app = True


def when_ready(server):
    from django.conf import settings

    from biometrics.engine import liveness

    # The liveness backend's models too (the 68-point one only if that backend is chosen).
    liveness.warm_up(settings.FACEAUTH_LIVENESS_BACKEND)
    server.log.info("face models loaded before forking workers")


def child_exit(server, worker):
    # A dead worker's live gauges must leave the multi-process metrics (faceauth/metrics.py).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

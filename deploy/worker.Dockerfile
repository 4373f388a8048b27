# FaceAuth worker: Celery (enrolment embeddings) and, with another command, Celery beat.
#   docker build -f deploy/worker.Dockerfile -t faceauth-worker .
#   beat: docker run faceauth-worker celery -A faceauth beat -l info -s /run/faceauth/celerybeat-schedule
# Runs as an unprivileged user; the models come from the face-recognition-models wheel at
# build time (nothing is downloaded when a container starts).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: dependencies into a virtualenv (all wheels: dlib-bin, opencv-headless, psycopg2)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt

# ---- runtime
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    OPENCV_FOR_THREADS_NUM=1 \
    DJANGO_SETTINGS_MODULE=faceauth.settings \
    DJANGO_ENV=production \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/run/faceauth/prometheus \
    WORKER_METRICS_PORT=9808 \
    CELERY_CONCURRENCY=2
RUN groupadd --system --gid 10001 faceauth \
 && useradd --system --uid 10001 --gid faceauth --home-dir /app --shell /usr/sbin/nologin faceauth \
 && mkdir -p /app/var/media /run/faceauth/prometheus \
 && chown -R faceauth:faceauth /app/var /run/faceauth
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# A missing or corrupt model file fails the build, not the first enrolment.
RUN python -c "from biometrics.engine import models; models.detector(); models.shape_predictor_5(); models.face_encoder(); print(models.model_versions())" \
 && python -m compileall -q /app
USER 10001:10001
EXPOSE 9808
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
# Prefork pool: one enrolment per child at a time (CPU-bound dlib); acks late, so a killed
# worker's job goes back to the queue. Recycle children that grew on large photos.
CMD ["sh", "-c", "exec celery -A faceauth worker -l info --concurrency \"$CELERY_CONCURRENCY\" --max-tasks-per-child 200"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
  CMD ["sh", "-c", "celery -A faceauth inspect ping --timeout 10 -d \"celery@$HOSTNAME\" >/dev/null"]

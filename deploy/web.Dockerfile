# FaceAuth web: gunicorn serving Django, with the dlib face models inside the image.
#   docker build -f deploy/web.Dockerfile -t faceauth-web .
# Runs as an unprivileged user; the models come from the face-recognition-models wheel at
# build time (nothing is downloaded when a container starts).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: dependencies into a virtualenv (all wheels: dlib-bin, opencv-headless, psycopg2)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
# Only the runtime dependencies from pyproject.toml; the application is copied as source.
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
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/var/media \
    PROMETHEUS_MULTIPROC_DIR=/run/faceauth/prometheus
RUN groupadd --system --gid 10001 faceauth \
 && useradd --system --uid 10001 --gid faceauth --home-dir /app --shell /usr/sbin/nologin faceauth \
 && mkdir -p /app/var/media /run/faceauth/prometheus \
 && chown -R faceauth:faceauth /app/var /run/faceauth
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# Load every model once at build time: a missing or corrupt model file fails the build, not
# the first request. Static files are collected with throwaway build-only secrets (production
# settings refuse to load without them; they are not kept in the image's environment).
RUN python -c "from biometrics.engine import models; models.detector(); models.shape_predictor_5(); models.face_encoder(); print(models.model_versions())" \
 && DJANGO_ENV=production ALLOWED_HOSTS=build \
    SECRET_KEY=build-only-secret-key-not-used-at-runtime-0123456789abcdef \
    FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1ub3QtYS1yZWFsLWtleS0wMDAwMDA= \
    python manage.py collectstatic --noinput -v0 \
 && python -m compileall -q /app
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "/app/deploy/gunicorn.conf.py", "faceauth.wsgi:application"]
# /healthz answers before host checks and the HTTPS redirect (faceauth.health.ProbeMiddleware).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

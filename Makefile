# Every command a person or CI needs. `make test` and `make demo` work on a bare machine:
# they create .venv and install the pinned Python and npm dependencies themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# Extra CDK CLI arguments for diff, deploy and destroy, e.g. CDK_ARGS="--require-approval never" in a pipeline.
CDK_ARGS ?=

.PHONY: advise crash-sweep help install install-all template-checks test test-py313 lint format typecheck unit infra update-iam-snapshot e2e demo demo-org synth diff deploy destroy bench report clean

help:
	@echo "make demo      deploy into a local emulated account and run a simulated year of schedules"
	@echo "make demo-org  the demo's story over a local organization (3 members, 1 excluded, 1 joining on day 100)"
	@echo "make test      lint, type-check, template checks and every test (installs what it needs)"
	@echo "make test-py313  the unit and handler suites under Python 3.13, the functions' runtime"
	@echo "make synth     synthesize the CloudFormation template into cdk.out/"
	@echo "make update-iam-snapshot  rewrite tests/infrastructure/snapshots/iam_policies.json from the synthesized roles"
	@echo "make diff | deploy | destroy   against the AWS account of your current credentials"
	@echo "make bench     benchmarks (IAM call counts, time, memory)"
	@echo "make report    the inventory report ({\"action\": \"report\"}) of the stack in the local account, as a table"
	@echo "make advise    the prefer-roles advisor ({\"action\": \"advise\"}) over demo consumers in the local account"

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# checkov in a virtualenv of its own: its pinned dependencies clash with the project's.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# cfn-lint and checkov over every template the app can deploy; a new finding fails the build.
template-checks: install $(CHECKOV_VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.template_checks --out cdk.out/template-checks \
		--checkov $(CHECKOV_VENV)/bin/checkov

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The three installs side by side (mostly downloads): a bare machine's `make test` spends less time waiting.
install-all:
	$(MAKE) --no-print-directory -j3 $(VENV)/.installed node_modules/.installed $(CHECKOV_VENV)/.installed

# The e2e tests run in pytest processes of their own: the local account holds a virtual clock for the whole
# session, which must not leak into other tests sharing a worker; the local organization's in another (one local
# account per process), and the prefer-roles advisor's in a third. The three share nothing and run side by side.
E2E_SUITES := tests/e2e tests/e2e_organization tests/e2e_advisor
test: install-all install lint typecheck template-checks
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 --dist loadgroup $(addprefix --ignore=,$(E2E_SUITES))
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.run_suites $(E2E_SUITES)

# The functions run Python 3.13 (the Lambda runtime); the suites that run them in process run under 3.13 too, in a
# virtualenv of their own with the same pins. Outside `make test` to keep it within its time budget; CI runs both.
PYTHON313 ?= $(shell for p in python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13); do \
	$$p -c '' 2>/dev/null && echo $$p && break; done)
VENV313 := .venv313
$(VENV313)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found: install it to run the 3.13 suites"; exit 1; }
	$(VENV313)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || \
		{ rm -rf $(VENV313); $(PYTHON313) -m venv $(VENV313); }
	$(VENV313)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV313)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

test-py313: $(VENV313)/.installed
	$(VENV313)/bin/python -m pytest -n 2 -p no:cacheprovider tests/unit tests/integration

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/integration

infra: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest tests/infrastructure

# The reviewed snapshot of every function role's and managed policy's statements, rewritten from cdk.json's context;
# review its diff like a change of stacks/permissions.py.
update-iam-snapshot: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tests.support.iam_snapshot

crash-sweep: $(VENV)/.installed
	RELIABILITY_FULL_SWEEP=1 $(PY) -m pytest -n 2 tests/reliability/test_crash_at_every_step.py

e2e: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.run_suites $(E2E_SUITES)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m local_account.demo

demo-org: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m local_account.demo_org

synth: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) synth --quiet

diff: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) diff $(CDK_ARGS)

# Every stack of the app: the main one in your profile's region and, outside us-east-1, the one that forwards
# IAM's events from us-east-1 to it (deployed after the main stack).
deploy: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) deploy --all $(CDK_ARGS)

destroy: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) destroy --all $(CDK_ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench.run --out bench-out

report: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.inventory_report

advise: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.advise_report

clean:
	rm -rf cdk.out demo-out demo-org-out bench-out .pytest_cache .mypy_cache .ruff_cache $(CHECKOV_VENV) $(VENV313)

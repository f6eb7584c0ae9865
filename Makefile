# auth0-webhooks: everything a developer runs. `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/shared/requirements.txt constraints.txt | cksum | cut -d' ' -f1)
CODE   := layers/shared functions devkit tests
TOOLS  := $(VENV)/tools/.installed-$(shell cksum < requirements-tools.txt | cut -d' ' -f1)

.PHONY: setup test lint lint-template unit integration format demo bench clean lock

setup: $(STAMP) $(BIN)/auth0-webhooks

$(STAMP): requirements-dev.txt layers/shared/requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	# the shared layer and the dev kit are importable by their package names, as in Lambda
	$(BIN)/python -c 'import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()["purelib"], "auth0_webhooks_dev.pth").write_text("$(CURDIR)/layers/shared\n$(CURDIR)\n")'
	rm -f $(VENV)/.installed-* && touch $@

# the operator tools' one command, `auth0-webhooks <command>` (auth0_webhooks/ops/cli.py); not in the layer
$(BIN)/auth0-webhooks: $(STAMP)
	printf '#!$(CURDIR)/$(BIN)/python\nimport sys\nfrom auth0_webhooks.ops.cli import main\nsys.exit(main())\n' > $@
	chmod +x $@

lint: setup
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy $(CODE)

# template.yaml: cfn-lint, `sam validate --lint` and checkov (its skips are justified in the template)
lint-template: setup $(TOOLS)
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(VENV)/tools/aws-sam-cli/bin/sam validate --lint --region us-east-1
	$(VENV)/tools/checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

# aws-sam-cli and checkov, each in a venv of its own (their boto3 pins clash with ours and each other's)
$(TOOLS): requirements-tools.txt
	grep -E '^[A-Za-z]' requirements-tools.txt | while read -r pin _; do \
	  dir=$(VENV)/tools/$${pin%%==*}; \
	  test -x $$dir/bin/python || $(PYTHON) -m venv $$dir || exit 1; \
	  $$dir/bin/python -m pip install --quiet --disable-pip-version-check "$$pin" || exit 1; \
	done
	rm -f $(VENV)/tools/.installed-* && touch $@

test: setup lint lint-template
	$(BIN)/pytest $(PYTEST_ARGS)

unit: setup
	$(BIN)/pytest tests/unit layers/shared $(PYTEST_ARGS)

integration: setup
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

demo: setup
	$(BIN)/python -m devkit.demo

bench: setup
	$(BIN)/python -m devkit.bench

format: setup
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache

# constraints.txt: resolve requirements-dev.txt afresh and pin everything it pulls in
# (then copy the runtime packages' new versions into layers/shared/requirements.txt; a test checks they agree)
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock

# operations, shortcuts for `auth0-webhooks <command>`:
# `make redrive ARGS="--stack auth0-webhooks --types f --dry-run"`, `make doctor ARGS=--slack-test`
.PHONY: redrive doctor
redrive: setup
	$(BIN)/auth0-webhooks redrive $(ARGS)

doctor: setup
	$(BIN)/auth0-webhooks doctor $(ARGS)

# `sam build` builds the functions and the layer with the Lambda runtime's Python (3.13, from
# template.yaml): without it on PATH, say what to do instead of SAM's "Binary validation failed".
# `make build SAM_BUILD_ARGS=--use-container` builds in Docker and needs no local Python 3.13.
SAM := $(VENV)/tools/aws-sam-cli/bin/sam
.PHONY: build check-build-python help
build: check-build-python $(TOOLS)
	SAM_CLI_TELEMETRY=0 $(SAM) build $(SAM_BUILD_ARGS)

check-build-python:
	@case " $(SAM_BUILD_ARGS) " in *" --use-container "*) exit 0;; esac; \
	python3.13 -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 || { \
	  echo "sam build needs python3.13 on PATH: the functions run on Lambda's python3.13." >&2; \
	  echo "  Install it (uv python install 3.13, pyenv install 3.13, or your package manager)," >&2; \
	  echo "  or build in Docker instead: make build SAM_BUILD_ARGS=--use-container" >&2; \
	  exit 1; }

# every target, one line each (tests/unit/test_release.py checks that none is missing)
help:
	@echo "make setup          create .venv and install the pinned development requirements"
	@echo "make test           lint, lint-template, then every test (unit, integration, doctests)"
	@echo "make unit           the unit tests and the library's doctests"
	@echo "make integration    the integration tests (moto server, local tenant and receivers)"
	@echo "make lint           ruff check, ruff format --check, mypy --strict"
	@echo "make lint-template  cfn-lint, sam validate --lint and checkov on template.yaml"
	@echo "make format         fix what ruff can"
	@echo "make demo           the whole pipeline on this machine, no AWS account or tenant needed"
	@echo "make bench          throughput, latency, cold start and cost, each beside its baseline"
	@echo "make doctor         check a configuration's Auth0 credentials, webhook and Slack (ARGS=...)"
	@echo "make local          the embedded stack, up until Ctrl-C, with the environment for the operator commands"
	@echo "make redrive        move dead-lettered logs back to the queue (ARGS=\"--stack <name>\")"
	@echo "make status         the stack at a glance: poller, routes, queues (ARGS=\"--stack <name>\")"
	@echo "make routes-check   check a routes file: \$$ROUTES_FILE, else config/routes.yaml (ARGS=\"--stack <name>\")"
	@echo "make replay         send a past window's logs again (ARGS=\"--stack <name> --from T1 --to T2\")"
	@echo "make check-build-python  say what to do when sam build cannot find python3.13"
	@echo "make build          sam build, after that check (SAM_BUILD_ARGS=--use-container for Docker)"
	@echo "make lock           resolve requirements-dev.txt afresh into constraints.txt"
	@echo "make clean          remove .venv, .aws-sam and the tool caches"
	@echo "make help           this list"

# the embedded stack (moto, a local tenant, receivers, the functions on a schedule), up until Ctrl-C;
# it prints the environment for running doctor, redrive and the poller against it from another terminal
.PHONY: local
local: setup
	$(BIN)/python -m devkit.local

# `make status ARGS="--stack auth0-webhooks"` (or --table/--queue-url/--dead-letter-queue-url; --json)
.PHONY: status
status: setup
	$(BIN)/auth0-webhooks status $(ARGS)

# `auth0-webhooks routes check`: every error in a routes file ($$ROUTES_FILE, else config/routes.yaml)
# before deploying it; `make routes-check ARGS="config/routes.yaml --stack auth0-webhooks"`
.PHONY: routes-check
routes-check: setup
	$(BIN)/auth0-webhooks routes check $(ARGS)

# `make replay ARGS="--stack auth0-webhooks --from 2026-11-01T00:00:00Z --to 2026-11-02 --route siem"`
.PHONY: replay
replay: setup
	$(BIN)/auth0-webhooks replay $(ARGS)

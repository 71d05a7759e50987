# The two commands of the README:
#   make demo   – set everything up on a fresh machine and run the instructor pipeline
#   make test   – the grader's own test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: setup demo release grade validate test test-exploits test-browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

setup: $(VENV)/.installed

# Playwright for the browser test (the [browser] extra); the browser is the system's chromium.
$(VENV)/.browser-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[browser]'
	touch $@

release: setup
	nbgrader generate_assignment acceleration --force

# The demo starts from an empty gradebook: it is a demonstration, not a course in progress.
demo: setup
	rm -rf submitted autograded/*/ feedback gradebook.db grades.csv logs
	nbgrader generate_assignment acceleration --force
	accelkit examples
	# the demo's malformed example fails on purpose (see the summary); where there is no
	# sandbox (neither root nor user namespaces) the demo grades its own examples unconfined
	# (`accelkit examples` then leaves out those that would damage the course folder)
	accelkit grade $$(python -c "from accelkit.grading import sandbox; print('' if sandbox.available() else '--unconfined')") || true
	accelkit scores

test: setup
	pytest -p no:cacheprovider -m "not browser and not exploits"

# The other hostile examples of the notebooks that grade slowly (02, 05, 06; see
# grader_tests/conftest.py): CI runs it after make test.
test-exploits: setup
	pytest -p no:cacheprovider -m exploits

# The student's view, end to end: JupyterLab in headless Chromium (grader_tests/test_browser.py,
# about a minute; needs `apt-get install chromium`). Screenshots go to artifacts/browser/.
test-browser: $(VENV)/.browser-installed
	pytest -p no:cacheprovider -m browser grader_tests/test_browser.py

grade: setup
	accelkit grade

validate: setup
	accelkit validate

bench: setup
	accelkit bench

clean:
	rm -rf submitted autograded/*/ feedback grades.csv gradebook.db logs

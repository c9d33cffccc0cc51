"""Runbooks: Meaning, Impact, Diagnosis, Mitigation; read-only diagnosis; parsed into steps."""

import re

import pytest

from roadie.runbooks.environment import VARIABLES
from roadie.runbooks.parse import SECTIONS, Step, all_runbooks
from roadie.runbooks.runner import format_result, queries, run_step

RUNBOOKS = all_runbooks()
# Words that change things: never in a diagnosis step.
MUTATING = re.compile(
    r"\b(restart|stop|start|failover|switchover|reinit|resume|pause|kill|pg_cancel_backend|pg_terminate_backend"
    r"|drop|delete|truncate|insert|update|alter|create|scale|rollout|flushall|flushdb|config set|del|set)\b",
    re.IGNORECASE,
)


def test_there_is_a_runbook_per_alert():
    assert len(RUNBOOKS) >= 30


@pytest.mark.parametrize("book", RUNBOOKS, ids=lambda b: b.alert)
def test_runbook_has_the_four_sections(book):
    for section in SECTIONS:
        assert book.sections.get(section), f"{book.path.name}: section '{section}' is missing or empty"


@pytest.mark.parametrize("book", RUNBOOKS, ids=lambda b: b.alert)
def test_runbook_has_described_diagnosis_and_mitigation_steps(book):
    assert book.diagnosis, book.path.name
    assert book.mitigation, book.path.name
    for step in book.steps:
        assert step.description, f"{book.path.name}: a step has no sentence above it"


@pytest.mark.parametrize("book", RUNBOOKS, ids=lambda b: b.alert)
def test_commands_use_only_the_documented_variables_and_no_lab_paths(book):
    # A command must run against any inventory: hosts are reached as `$ROADIE_SSH <host>`, never
    # through the lab's directories on the controller.
    for step in book.steps:
        if step.language != "sh":
            continue
        shell_locals = set(re.findall(r"\bfor (\w+) in\b", step.code))
        used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", step.code)) - shell_locals
        assert used <= set(VARIABLES) | {"PGCONNECT_TIMEOUT"}, (book.path.name, used - set(VARIABLES))
        assert "/var/lib/roadie/lab" not in step.code and "supervisorctl" not in step.code, step.code
    for step in book.diagnosis:
        assert not re.search(r"<[a-z][^>]*>", step.code), f"{book.path.name}: a diagnosis step needs no placeholder"


@pytest.mark.parametrize("book", RUNBOOKS, ids=lambda b: b.alert)
def test_diagnosis_steps_are_read_only(book):
    for step in book.diagnosis:
        if step.language == "sh":
            code = re.sub(r"'[^']*'|\"[^\"]*\"", "", step.code)  # SQL text is checked below
            assert not MUTATING.search(code), step.code
        sql = " ".join(re.findall(r"\"([^\"]*)\"", step.code)).lower()
        assert not re.search(r"\b(insert|update|delete|drop|alter|create|truncate|pg_cancel|pg_terminate)", sql)


def test_latency_walkthrough_follows_the_design_document():
    book = next(b for b in RUNBOOKS if b.alert == "AppLatencyP95Critical")
    text = " ".join(s.description.lower() for s in book.diagnosis)
    order = [text.index(word) for word in ("detection", "resources", "traces", "slow query log", "cause")]
    assert order == sorted(order)
    mitigations = " ".join(s.description.lower() for s in book.mitigation)
    assert "scale out" in mitigations
    assert "index" in mitigations


def test_query_results_are_printed_readably():
    data = {"resultType": "vector", "result": [{"metric": {"job": "etcd", "host": "db-1"}, "value": [0, "1"]}]}
    assert format_result(data) == "{host=db-1, job=etcd} = 1"
    assert "no series" in format_result({"resultType": "vector", "result": []})


# A bare selector (optionally compared with a number): `a or b` of two of them keeps only a's
# series wherever b's carry the same labels, so the diagnosis would never show b.
SELECTOR = re.compile(r"^\(?\s*[a-zA-Z_:][\w:]*(\{[^}]*\})?\s*([=!<>]=?\s*\S+)?\s*\)?$")


@pytest.mark.parametrize("book", RUNBOOKS, ids=lambda b: b.alert)
def test_promql_steps_never_or_two_plain_selectors(book):
    for step in book.diagnosis:
        if step.language != "promql":
            continue
        for query in queries(step):
            parts = re.split(r"\s+or\s+", query)
            assert len(parts) == 1 or not all(SELECTOR.match(p.strip()) for p in parts), (
                f"{book.alert}: '{query}' hides the later metrics' series: put each on its own line"
            )


def test_the_selector_lint_catches_an_or_of_two_metrics():
    assert all(SELECTOR.match(p) for p in ("patroni_primary", 'up{job="etcd"}', "redis_master_link_up == 0"))
    assert not SELECTOR.match("sum by (queue) (rabbitmq_detailed_queue_consumers)")


def test_each_line_of_a_promql_step_is_its_own_query(monkeypatch):
    asked = []

    class Answer:
        def __init__(self, query: str) -> None:
            self.query = query
            self.text = ""

        def json(self) -> dict:
            value = {"metric": {"__name__": self.query}, "value": [0, "1"]}
            return {"status": "success", "data": {"resultType": "vector", "result": [value]}}

    def get(url: str, params: dict, timeout: float) -> Answer:
        asked.append(params["query"])
        return Answer(params["query"])

    monkeypatch.setattr("roadie.runbooks.runner.httpx.get", get)
    step = Step("promql", "diagnose", "patroni_primary\npatroni_replica\n", "roles")
    result = run_step(step, {"PROMETHEUS_URL": "http://prometheus.invalid"})
    assert asked == ["patroni_primary", "patroni_replica"]
    assert result.ok
    assert result.output.splitlines() == [
        "# patroni_primary",
        "{__name__=patroni_primary} = 1",
        "# patroni_replica",
        "{__name__=patroni_replica} = 1",
    ]

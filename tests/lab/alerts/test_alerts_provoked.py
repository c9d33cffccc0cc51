"""Every provocation of the catalog on the lab: its alerts go pending and firing within their
`for:` plus two evaluations, Alertmanager notifies the recorder (this run's notification), the
runbook's findings name the injected cause, and the alerts resolve after the heal; the benign
events fire none of the alerts they must not.

One campaign runs them all (tiers at the same time) and rewrites docs/alert-provocations.json,
from which `roadie provoke table` regenerates the docs' table.
"""

import time

import pytest

from roadie.cli.provoke import failures, write_results
from roadie.provoke import table
from roadie.provoke.campaign import Campaign, Outcome
from roadie.provoke.catalog import CATALOG
from roadie.provoke.context import Context


@pytest.fixture(scope="module")
def outcomes(lab, running_hosts) -> dict[str, Outcome]:
    started = time.monotonic()
    done = Campaign(Context(lab), progress=lambda line: print(line, flush=True)).run(list(CATALOG))
    took = time.monotonic() - started
    print(f"alert provocations: {len(done)} in {took:.0f}s")
    write_results(table.results_file(), done, took)
    table.write()
    return {o.provocation: o for o in done}


@pytest.mark.parametrize("provocation", CATALOG, ids=lambda p: p.name)
def test_provocation_proves_its_alerts(provocation, outcomes):
    outcome = outcomes[provocation.name]
    assert not failures(outcome), failures(outcome)
    if provocation.alerts:
        assert {t.alert for t in outcome.timelines} == set(provocation.alerts)
        assert all(d.named for d in outcome.diagnoses), outcome.diagnoses
    else:
        assert outcome.silent_watched == list(provocation.silent)

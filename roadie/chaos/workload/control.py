"""A Chaos Toolkit control that runs the probe workload around the whole experiment: started
before the first steady-state check, so the hypothesis has requests to measure, and stopped
after the rollbacks, whatever happened in between.

    "controls": [{"name": "workload", "provider": {"type": "python",
                  "module": "roadie.chaos.workload.control", "arguments": {"http_path": "/readyz"}}}]
"""

from typing import Any

from chaoslib.types import Configuration, Experiment, Journal, Secrets

from roadie.chaos.context import lab
from roadie.chaos.workload import background
from roadie.chaos.workload.probes import summary


def before_experiment_control(
    context: Experiment,
    *,
    duration_s: float = 240.0,
    interval_s: float = 0.05,
    http_path: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> None:
    """Start the workload (see roadie.chaos.workload.actions.start_workload)."""
    background.start(lab(configuration), duration_s, interval_s, http_path)


def after_experiment_control(context: Experiment, state: Journal | None = None, **arguments: Any) -> None:
    """Stop the workload and add its whole-run summary to the journal."""
    background.stop()
    if state is not None:
        state["roadie_workload"] = summary()

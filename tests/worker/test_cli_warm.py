"""The CLI's own tests, run again with the warm worker on: every ``python -m flowassets.cli.main
run|resume|logs`` below goes through one worker shared by this module's tests (the same tests
run without it in tests/cli). The worker is started before the first test, and after each test
its count of served commands must have grown: a silent fallback to plain runs cannot pass for
the worker."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import (  # noqa: F401 - collected here a second time, worker on
    test_bad_parameter_value_is_refused_before_a_run,
    test_failing_step_exits_nonzero_with_the_step_error_not_a_traceback_wall,
    test_logs_prints_task_output,
    test_run_prints_steps_and_run_id_and_client_reads_back,
    test_unknown_option_names_the_flow_parameters,
)
from tests.cli.test_progress import (  # noqa: F401
    test_terminal_gets_a_live_display_of_steps_tasks_and_elapsed,
)
from tests.cli.test_resume import (  # noqa: F401
    test_resume_from_a_named_step_of_a_successful_run,
    test_resume_reuses_upstream_artifacts,
)
import os
from pathlib import Path

from tests.worker.conftest import private_worker_dir, start_worker, statuses


@pytest.fixture(scope="module")
def worker_dir():
    for path in private_worker_dir():
        env = {**os.environ, "FLOWASSETS_WORKER_DIR": path}
        env.pop("FLOWASSETS_NO_DAEMON", None)
        start_worker(Path(path), env)
        yield path


@pytest.fixture(autouse=True)
def served_by_the_worker(worker_on):
    before = sum(s["served"] for s in statuses(worker_on))
    yield
    after = sum(s["served"] for s in statuses(worker_on))
    print(f"flowassets CLI worker: served {after - before} command(s) of this test")
    assert after > before, "no command of this test went through the worker"

"""``--with retry`` on an unchanged Metaflow file, side by side with Metaflow 2.19: ``python
flow.py run --with ...`` under Metaflow, ``flowassets run flow.py --with ...`` and
``flow_to_job`` with ``FlowTranslatorSettings(with_decorators=[...])`` store the same artifacts
in every task (each retried task's values come from its second attempt)."""

from __future__ import annotations

import pytest

from .harness import Case, run_three_ways

pytestmark = pytest.mark.xdist_group("metaflow_files")

WITH = "retry:minutes_between_retries=0"


def test_with_retry_same_artifacts_as_metaflow(tmp_path):
    case = Case("with_retry.py", "WithRetryFlow", ("--with", WITH),
                job_settings=repr({"with_decorators": [WITH]}))
    result = run_three_ways([case], tmp_path, parallel=3)["WithRetryFlow"]
    result.assert_same()
    assert result.metaflow.successful and result.cli.successful and result.job.successful
    for run in (result.metaflow, result.cli, result.job):
        assert run.artifacts("start")[0]["start_attempt"] == 1, run.system
        assert sorted(t["attempt"] for t in run.artifacts("work")) == [1, 1, 1], run.system
        assert run.artifacts("steady")[0]["steady_attempt"] == 1, run.system
        assert run.artifacts("end")[0]["total"] == 6, run.system

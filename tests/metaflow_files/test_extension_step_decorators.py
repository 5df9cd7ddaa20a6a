"""A step decorator from a Metaflow extension package (tests/metaflow_files/extension), on an
unchanged Metaflow file run by Metaflow 2.19 and by ``flowassets run``: its task hooks run in
Metaflow's order in every task (foreach tasks, a join, a retried task), a ``task_exception``
that handles the error lets the task succeed, and both runs keep the same artifacts. A step
decorator overriding a hook only Metaflow's launching runtime calls is refused before anything
runs."""

from __future__ import annotations

from tests.metaflow_files.test_extension_flow_decorators import _both, _values, refused_at_build


def test_task_hooks_run_in_every_task_as_under_metaflow(tmp_path):
    both = _both(tmp_path, "extension_step_decorator.py", "StampedFlow")
    both.assert_same()
    fa = both.flowassets
    assert _values(fa, "start", "stamp_pre") == ["start attempt 0 of 1"]
    # @retry(times=1): Metaflow hands max_user_code_retries=1 to the hooks of that step.
    assert _values(fa, "each", "stamp_pre") == ["each attempt 0 of 2"] * 3
    assert _values(fa, "each", "stamp_wrapped") == ["before body"] * 3
    names = _values(fa, "each", "stamp_decorators")[0]  # step_init saw all the step's decorators
    assert [name for _, name in names] == ["retry", "stamped"]
    # The task whose wrapped body raised was handled by task_exception: it succeeded, kept its
    # artifacts and had no task_post_step (its stamp_post is still start's, inherited).
    assert _values(fa, "each", "value") == [10, 20, 30]
    by_value = {task["data"]["value"][1]: task["data"] for task in fa.tasks("each")}
    assert by_value[20]["stamp_forgiven"][1] == "two is forgiven"
    assert "stamp_forgiven" not in by_value[10] and "stamp_forgiven" not in by_value[30]
    assert [by_value[v]["stamp_post"][1] for v in (10, 20, 30)] == ["each", "start", "each"]
    assert _values(fa, "join", "stamp_joined") == [3]
    assert [v for _, v in _values(fa, "join", "values")[0]] == [10, 20, 30]
    assert _values(fa, "end", "stamp_pre") == ["join attempt 0 of 1"]  # inherited: not decorated
    for system in ("metaflow", "flowassets"):  # task_finished ran once per task, all ok
        lines = (tmp_path / system / "finished.txt").read_text().split()
        assert sorted(zip(lines[::2], lines[1::2])) == sorted(
            [("start", "True"), ("each", "True"), ("each", "True"), ("each", "True"),
             ("join", "True")]), system


def test_step_decorator_with_a_runtime_hook_is_refused_at_build(tmp_path):
    refusal = refused_at_build(_both(tmp_path, "extension_runtime_hook.py", "AuditedTasksFlow"),
                               "audit_tasks")
    assert "AuditedTasksFlow" in refusal and "'start'" in refusal, refusal
    assert "runtime_task_created" in refusal, refusal

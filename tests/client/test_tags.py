"""Metaflow's run tags on flowassets runs: ``--tag`` at launch, ``current.tags`` in steps, the
client's ``add_tag``/``remove_tag``/``replace_tags`` and ``flowassets tag``, all kept on the
Dagster run (so the Dagster UI shows them). Real CLI subprocesses and a real SQLite instance."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from flowassets.client import Flow
from flowassets.errors import TaggingError
from tests.cli.test_cli import flowassets

FLOW = '''
from metaflow import FlowSpec, project, step, current


@project(name="tagged")
class TaggedFlow(FlowSpec):
    @step
    def start(self):
        self.seen = sorted(current.tags)
        self.next(self.end)

    @step
    def end(self):
        from flowassets import current as own
        self.own = sorted(own.tags)
'''


@pytest.fixture
def tagged_run(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_USER", "tester")
    (tmp_path / "tagged.py").write_text(FLOW)
    done = flowassets("run", "tagged.py", "--tag", "刺身 means sashimi", "--tag", "a,b",
                      "--run-id-file", "rid", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return Flow("TaggedFlow")[(tmp_path / "rid").read_text().strip()]


def test_launch_tags_reach_steps_client_and_dagster(tagged_run):
    run = tagged_run
    assert run.user_tags == {"刺身 means sashimi", "a,b"}
    assert {"user:tester", "project:tagged", "project_branch:user.tester",
            "runtime:flowassets"} <= run.system_tags
    assert run.tags == run.user_tags | run.system_tags
    # Metaflow's current.tags (unchanged Metaflow file) and flowassets' own current.tags.
    assert run.data.seen == ["a,b", "刺身 means sashimi"] and run.data.own == run.data.seen
    # One Dagster run tag, a JSON list: a comma inside a tag survives.
    assert json.loads(run.dagster_tags["flowassets/tags"]) == ["a,b", "刺身 means sashimi"]
    # Steps and tasks carry their run's tags, and filter by them, as in Metaflow.
    assert {s.id for s in run.steps("a,b", "user:tester")} == {"start", "end"}
    assert list(run.steps("not_a_tag")) == [] and list(run["end"].tasks("not_a_tag")) == []
    assert run["end"].task.tags == run.tags
    assert [r.id for r in Flow("TaggedFlow").runs("a,b")] == [run.id]
    assert list(Flow("TaggedFlow").runs("a,b", "not_a_tag")) == []


def test_client_mutation_follows_metaflows_rules(tagged_run):
    run = tagged_run
    system = sorted(run.system_tags)[0]
    run.add_tags(["tag_along", system])  # a system tag is not added as a user tag
    assert "tag_along" in run.user_tags and system not in run.user_tags
    with pytest.raises(TaggingError, match="system tag"):
        run.remove_tags(["tag_along", system])  # all or nothing
    assert "tag_along" in run.user_tags
    run.replace_tags(["tag_along", "a,b"], ["a,b", "新想法"])  # removal first, then addition
    assert run.user_tags == {"刺身 means sashimi", "a,b", "新想法"}
    run.remove_tag(["新想法", "a,b"])  # Metaflow's deprecated iterable form
    assert run.user_tags == {"刺身 means sashimi"}
    for bad in ("", "a" * 501, 4, b"\xff\xfe"):
        with pytest.raises(TaggingError):
            run.add_tag(bad)
    with pytest.raises(TaggingError, match="nothing to add or remove"):
        run.replace_tags([], [])
    assert run.user_tags == {"刺身 means sashimi"}
    # The change is on the Dagster run itself: a fresh instance sees it.
    fresh = dg.DagsterInstance.get().get_run_by_id(run.id)
    assert json.loads(fresh.tags["flowassets/tags"]) == ["刺身 means sashimi"]


def test_tag_command_in_both_forms(tagged_run, tmp_path):
    target = f"TaggedFlow/{tagged_run.id}"
    assert flowassets("tag", "add", target, "x", "y", cwd=tmp_path).returncode == 0
    # Metaflow's form: the flow file, --run-id, then the tags.
    done = flowassets("tag", "replace", "tagged.py", "--run-id", tagged_run.id, "x", "z",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = flowassets("tag", "replace", target, "--remove", "y", "--add", "w", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = flowassets("tag", "list", target, "--flat", "--hide-system-tags", cwd=tmp_path)
    assert set(listed.stdout.splitlines()) == {"刺身 means sashimi", "a,b", "z", "w"}
    refused = flowassets("tag", "remove", target, "user:tester", cwd=tmp_path)
    assert refused.returncode == 1 and "'user:tester' is a system tag" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = flowassets("tag", "add", "TaggedFlow/no-such-run", "x", cwd=tmp_path)
    assert missing.returncode == 1 and "no run 'no-such-run'" in missing.stderr
    assert tagged_run.user_tags == {"刺身 means sashimi", "a,b", "z", "w"}

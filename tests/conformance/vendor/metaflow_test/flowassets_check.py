"""Metaflow's CliCheck, answered from flowassets' client instead of `python flow.py dump/logs`.

Written for flowassets (not vendored). Same contract as test/core/metaflow_test/cli_check.py:
``artifact_dict(step, name)`` maps each task of the step to ``{name: value}`` (empty when the
task lacks it), ``assert_artifact`` fails when any task lacks the name or has another value,
``assert_log`` reads the step's task output. ``get_run()`` is None, as in CliCheck, except for
the tests in ``METAFLOW_CLIENT_TESTS``: those get Metaflow's own ``Run`` read through the
flowassets metadata provider (metaflow_extensions/flowassets), as Metaflow's MetadataCheck
does. The other tests' metadata branches read attempt records and task metadata that
flowassets does not keep in Metaflow's form (tried Dec 3 2026 with get_run() for every test:
8 of 12 sampled pairs then failed, on catch_retry's attempts, runtime_dag's _graph_info,
timeout_decorator's exception class, task_exception's failed task, and on this checker's
``RUN/STEP/TASK`` keys that the metadata branches read as task ids). Task output is kept per stream, as Metaflow keeps
it: ``assert_log(step, "stderr", ...)`` reads the tasks' stderr (``Task.stderr``), ``"stdout"``
their stdout.
Cards are read through `flowassets card get|list`, as CliCheck reads them through
`python flow.py card get|list`.
"""

import json
import subprocess
import sys
import tempfile

from flowassets.client import Flow

from . import AssertArtifactFailed, AssertCardFailed, AssertLogFailed, MetaflowCheck, truncate

#: What `flowassets card` prints when no card matches (Metaflow's CardNotPresentException).
NO_CARD = "Card not found in datastore"


#: Tests whose check reads the run through Metaflow's own client (``get_run()``), by the
#: flow class the formatter names after the test: tag_mutation changes tags through it,
#: basic_parallel lists a @parallel step's tasks and control task (Step.control_tasks()).
METAFLOW_CLIENT_TESTS = frozenset({"TagMutationTestFlow", "BasicParallelTestFlow"})


class FlowassetsCheck(MetaflowCheck):
    def __init__(self, flow):
        self.flow_name = flow.name

    def get_run(self):
        if self.flow_name not in METAFLOW_CLIENT_TESTS:
            return None
        from metaflow import Run, metadata, namespace

        metadata("flowassets")
        namespace(None)
        return Run("%s/%s" % (self.flow_name, self.run_id.strip()))

    def _run(self):
        return Flow(self.flow_name)[self.run_id.strip()]

    def _tasks(self, step):
        try:
            return list(self._run()[step])
        except KeyError:
            return []  # a switch branch that was not taken has no tasks

    def artifact_dict(self, step, name):
        found = {}
        for task in self._tasks(step):
            # Keyed RUN_ID/STEP/TASK_ID, as CliCheck's `dump` keys them (card_multiple prefixes
            # the flow name itself).
            key = task.pathspec.split("/", 1)[1]
            found[key] = {name: task[name].data} if name in task.artifacts else {}
        return found

    def artifact_dict_if_exists(self, step, name):
        return self.artifact_dict(step, name)

    def assert_artifact(self, step, name, value, fields=None):
        for task, artifacts in self.artifact_dict(step, name).items():
            if name not in artifacts:
                raise AssertArtifactFailed("Task '%s' expected %s=%s but the key was not found"
                                           % (task, name, truncate(value)))
            artifact = artifacts[name]
            if fields:
                data = json.loads(artifact) if isinstance(artifact, str) else artifact
                for field, v in fields.items():
                    if not isinstance(data, dict) or data.get(field) != v:
                        raise AssertArtifactFailed("Task '%s' expected %s[%s]=%r" % (task, name, field, v))
            elif artifact != value:
                raise AssertArtifactFailed("Task '%s' expected %s=%r but got %s=%s"
                                           % (task, name, truncate(value), name, truncate(artifact)))
        return True

    def get_log(self, step, logtype):
        return "".join(getattr(task, logtype) for task in self._tasks(step))

    def assert_log(self, step, logtype, value, exact_match=True):
        log = self.get_log(step, logtype)
        if (exact_match and log != value) or (not exact_match and value not in log):
            raise AssertLogFailed("Task '%s/%s' expected %s log %r but got %r"
                                  % (self.run_id, step, logtype, value, log))
        return True

    # Tags: through `flowassets tag`, as CliCheck goes through `python flow.py tag` (a refused
    # change exits non-zero, which raises here like CliCheck's run_cli); for the tests in
    # METAFLOW_CLIENT_TESTS through Metaflow's own Run, as Metaflow's MetadataCheck does.
    def _tag(self, action, *args):
        cmd = [sys.executable, "-m", "flowassets.cli.main", "tag", action,
               "%s/%s" % (self.flow_name, self.run_id.strip()), *args]
        return subprocess.run(cmd, check=True, capture_output=True).stdout.decode("utf-8")

    def _metaflow_run(self):
        if not hasattr(self, "_run_object"):
            self._run_object = self.get_run()
        return self._run_object

    def get_user_tags(self):
        run = self._metaflow_run()
        if run is not None:
            return run.user_tags
        return frozenset(self._tag("list", "--flat", "--hide-system-tags").splitlines())

    def get_system_tags(self):
        run = self._metaflow_run()
        if run is not None:
            return run.system_tags
        return frozenset(self._tag("list", "--flat").splitlines()) - self.get_user_tags()

    def add_tag(self, tag):
        run = self._metaflow_run()
        return run.add_tag(tag) if run is not None else self._tag("add", tag)

    def add_tags(self, tags):
        run = self._metaflow_run()
        return run.add_tags(tags) if run is not None else self._tag("add", *tags)

    def remove_tag(self, tag):
        run = self._metaflow_run()
        return run.remove_tag(tag) if run is not None else self._tag("remove", tag)

    def remove_tags(self, tags):
        run = self._metaflow_run()
        return run.remove_tags(tags) if run is not None else self._tag("remove", *tags)

    def replace_tag(self, tag_to_remove, tag_to_add):
        run = self._metaflow_run()
        if run is not None:
            return run.replace_tag(tag_to_remove, tag_to_add)
        self._tag("replace", tag_to_remove, tag_to_add)

    def replace_tags(self, tags_to_remove, tags_to_add):
        run = self._metaflow_run()
        if run is not None:
            return run.replace_tags(tags_to_remove, tags_to_add)
        args = []
        for tag in tags_to_remove:
            args += ["--remove", tag]
        for tag in tags_to_add:
            args += ["--add", tag]
        self._tag("replace", *args)

    # Cards: through `flowassets card` (its main() in this process: one subprocess per task of
    # a wide foreach is slow), as CliCheck goes through `python flow.py card`.
    def _card(self, action, step, task, *args):
        import contextlib
        import io

        from flowassets.cli.main import main

        pathspec = "%s/%s/%s/%s" % (self.flow_name, self.run_id.strip(), step, task)
        cmd = ["card", action, pathspec, *args]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(cmd, exiting=False)
        if code:
            raise subprocess.CalledProcessError(code, cmd, out.getvalue().encode("utf-8"),
                                                err.getvalue().encode("utf-8"))
        return subprocess.CompletedProcess(cmd, code, out.getvalue().encode("utf-8"), b"")

    def get_card(self, step, task, card_type, card_hash=None, card_id=None):
        with tempfile.NamedTemporaryFile(dir=".", suffix=".html") as f:
            args = [f.name, "--type", card_type]
            if card_hash is not None:
                args += ["--hash", card_hash]
            if card_id is not None:
                args += ["--id", card_id]
            self._card("get", step, task, *args)
            with open(f.name, "r") as html:
                return html.read()

    def assert_card(self, step, task, card_type, value, card_hash=None, card_id=None,
                    exact_match=True):
        try:
            card_data = self.get_card(step, task, card_type, card_hash=card_hash, card_id=card_id)
        except subprocess.CalledProcessError as e:
            if NO_CARD not in e.stderr.decode("utf-8"):
                raise
            card_data = None
        if (exact_match and card_data != value) or (not exact_match and value not in card_data):
            raise AssertCardFailed("Task '%s/%s' expected %s card with content '%s' but got '%s'"
                                   % (self.run_id, step, card_type, repr(value), repr(card_data)))
        return True

    def list_cards(self, step, task, card_type=None):
        args = ["--as-json"] + (["--type", card_type] if card_type is not None else [])
        try:
            listed = json.loads(self._card("list", step, task, *args).stdout.decode("utf-8"))
        except subprocess.CalledProcessError as e:
            if NO_CARD not in e.stderr.decode("utf-8"):
                raise
            return None
        return listed if listed["cards"] else None

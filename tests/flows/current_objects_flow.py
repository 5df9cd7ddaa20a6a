"""Every step keeps ``current.task`` / ``current.run`` as artifacts and reads the run through
them while it runs; two branches set ``current.task_id`` so the join's merge conflicts."""

from flowassets import FlowSpec, current, step
from flowassets.errors import ClientError, MergeConflict


class CurrentObjectsFlow(FlowSpec):
    def _remember(self) -> None:
        self.task_obj, self.run_obj = current.task, current.run
        self.seen = {"task": self.task_obj.pathspec, "run": self.run_obj.pathspec,
                     "step": self.task_obj.parent.id, "flow": self.run_obj.parent.id}
        try:
            self.task_obj.data  # this task has not finished: nothing to read yet
            self.own_data = "readable"
        except ClientError as exc:
            self.own_data = str(exc)

    @step
    def start(self):
        self.x = 41
        self.items = ["p", "q", "r"]
        self._remember()
        self.next(self.left, self.right)

    @step
    def left(self):
        self.mine = current.task_id
        self._remember()
        self.x_from_start = current.run["start"].task.data.x
        self.next(self.join)

    @step
    def right(self):
        self.mine = current.task_id
        self._remember()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.branch_ids = sorted(i.mine for i in inputs)
        try:
            self.merge_artifacts(inputs)
            self.conflict = None
        except MergeConflict as exc:
            self.conflict = str(exc)
        self.merge_artifacts(inputs, exclude=["mine", "task_obj", "run_obj", "seen", "own_data"])
        self._remember()
        self.next(self.spread)

    @step
    def spread(self):
        self._remember()
        self.next(self.fan, foreach="items")

    @step
    def fan(self):
        self.start_x_via_pickled = self.run_obj["start"].task.data.x  # join's Run, unpickled
        self._remember()
        # This step has not finished: the run shows it, with the tasks finished so far.
        self.fan_ids_so_far = [t.id for t in current.run[current.step_name]]
        self.next(self.fan_join)

    @step
    def fan_join(self, inputs):
        self.fan_ids = [i.task_obj.id for i in inputs]
        self.fan_tasks_seen = sorted(t.id for t in current.run["fan"])
        self._remember()
        self.next(self.end)

    @step
    def end(self):
        self._remember()

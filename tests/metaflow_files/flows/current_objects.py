"""current.run / current.task and run-wide task ids, as the upstream current_singleton and
merge_artifacts tests use them: every step keeps both objects (under _-names, so the side-by-side
comparison skips the run ids inside them) and records what it saw through them."""

from metaflow import FlowSpec, current, step
from metaflow.exception import UnhandledInMergeArtifactsException


def seen(flow):
    flow._task_obj, flow._run_obj = current.task, current.run
    return {"task": flow._task_obj.pathspec == current.pathspec,
            "task_id": flow._task_obj.id == current.task_id,
            "step": flow._task_obj.parent.id == current.step_name,
            "run": flow._task_obj.parent.parent.id == flow._run_obj.id == current.run_id,
            "flow": flow._run_obj.parent.id == current.flow_name,
            "own_step": current.run[current.step_name].id == current.step_name}


class CurrentObjectsFlow(FlowSpec):
    @step
    def start(self):
        self.x = 41
        self.items = ["p", "q", "r"]
        self.seen = seen(self)
        self.next(self.left, self.right)

    @step
    def left(self):
        self._mine = current.task_id
        self.x_from_start = current.run["start"].task.data.x
        self.seen = seen(self)
        self.next(self.join)

    @step
    def right(self):
        self._mine = current.task_id
        self.seen = seen(self)
        self.next(self.join)

    @step
    def join(self, inputs):
        ids = [i._mine for i in inputs]
        self.ids_distinct = len(set(ids)) == 2 and current.task_id not in ids
        try:
            self.merge_artifacts(inputs)
            self.conflict = []
        except UnhandledInMergeArtifactsException as exc:
            self.conflict = sorted(exc.artifact_names)
        self.merge_artifacts(inputs, exclude=["_mine", "_task_obj"])
        self.seen = seen(self)
        self.next(self.spread)

    @step
    def spread(self):
        self.seen = seen(self)
        self.next(self.fan, foreach="items")

    @step
    def fan(self):
        self.x_via_stored_run = self._run_obj["start"].task.data.x  # spread's Run, unpickled
        self.seen = seen(self)
        self._fan_id = current.task_id
        self.next(self.fan_join)

    @step
    def fan_join(self, inputs):
        ids = {i._fan_id for i in inputs}
        self.fan_ids_distinct = len(ids) == 3 and current.task_id not in ids
        self.fan_tasks = sorted(t.id for t in current.run["fan"]) == sorted(ids)
        self.stored_tasks = sorted(i._task_obj.id for i in inputs) == sorted(ids)
        self.seen = seen(self)
        self.next(self.end)

    @step
    def end(self):
        self.seen = seen(self)


if __name__ == "__main__":
    CurrentObjectsFlow()

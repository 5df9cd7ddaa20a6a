"""An unchanged Metaflow flow that chains on another flow's latest successful run with
Metaflow's own client, as Metaflow users do (and reads its own task while it runs)."""

from metaflow import Flow, FlowSpec, Task, current, step


class MFClientDownstreamFlow(FlowSpec):
    @step
    def start(self):
        run = Flow("MFClientUpstreamFlow").latest_successful_run
        self.upstream_run = run.id
        self.upstream_total = run.data.total
        self.upstream_lengths = {t.index: t.data.length for t in run["measure"]}
        self.upstream_rows = run["join"].task.data.table["length"].tolist()
        self.upstream_tags = sorted(run.user_tags)
        me = Task(current.pathspec)
        self.my_pathspec = me.pathspec
        self.my_run_tags = sorted(me.parent.parent.user_tags)
        self.next(self.end)

    @step
    def end(self):
        self.doubled = self.upstream_total * 2


if __name__ == "__main__":
    MFClientDownstreamFlow()

from metaflow import FlowSpec, current, parallel, step


class MFClientParallelFlow(FlowSpec):
    """A @parallel gang of 3: Metaflow's client tells its control task (node 0) apart."""

    @step
    def start(self):
        self.next(self.gang, num_parallel=3)

    @parallel
    @step
    def gang(self):
        self.node = current.parallel.node_index
        self.control = current.parallel.control_task_id
        self.next(self.join)

    @step
    def join(self, inputs):
        self.nodes = sorted(i.node for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MFClientParallelFlow()

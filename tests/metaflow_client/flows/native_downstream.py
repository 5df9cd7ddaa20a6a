"""A flowassets flow whose step imports metaflow only there: Metaflow's client still reads
flowassets runs (the task selects the provider through METAFLOW_DEFAULT_METADATA)."""

from flowassets import FlowSpec, step


class MFClientNativeDownstreamFlow(FlowSpec):
    @step
    def start(self):
        from metaflow import Flow

        self.upstream_total = Flow("MFClientUpstreamFlow").latest_successful_run.data.total
        self.next(self.end)

    @step
    def end(self):
        pass

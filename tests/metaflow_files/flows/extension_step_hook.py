from metaflow import FlowSpec, audit_steps, step


@audit_steps
class AuditedFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AuditedFlow()

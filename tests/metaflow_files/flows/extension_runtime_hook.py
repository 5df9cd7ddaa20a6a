from metaflow import FlowSpec, audit_tasks, step


class AuditedTasksFlow(FlowSpec):
    @audit_tasks
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AuditedTasksFlow()

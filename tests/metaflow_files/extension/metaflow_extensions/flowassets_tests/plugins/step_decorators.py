"""Step decorators of the test extension package.

``@stamped`` uses every task hook Metaflow's task calls (``task_pre_step``, ``task_decorate``,
``task_post_step``, ``task_exception``, ``task_finished``) plus ``step_init``; with
``forgive=True`` it handles the ``ValueError`` its wrapper raises when the body left a
``complaint``, as Metaflow's own @catch handles
failures through ``task_exception``. ``task_finished`` writes a line per task into the run's
working folder (artifacts cannot be set there). ``@audit_tasks`` overrides
``runtime_task_created``, which only Metaflow's launching runtime calls, so flowassets refuses it
at build time.
"""

from metaflow.decorators import StepDecorator


class Stamped(StepDecorator):
    name = "stamped"
    defaults = {"forgive": False}

    def step_init(self, flow, graph, step_name, decorators, environment, flow_datastore, logger):
        self._names = sorted(d.name for d in decorators)

    def task_pre_step(self, step_name, task_datastore, metadata, run_id, task_id, flow, graph,
                      retry_count, max_user_code_retries, ubf_context, inputs):
        flow.stamp_pre = "%s attempt %d of %d" % (step_name, retry_count, max_user_code_retries + 1)
        flow.stamp_joined = None if inputs is None else len(list(inputs))
        flow.stamp_decorators = self._names

    def task_decorate(self, step_func, flow, graph, retry_count, max_user_code_retries,
                      ubf_context):
        def wrapped(*args):
            flow.stamp_wrapped = "before body"
            result = step_func(*args)
            if getattr(flow, "complaint", None):  # the body's transition stands
                raise ValueError(flow.complaint)
            return result

        return wrapped

    def task_post_step(self, step_name, flow, graph, retry_count, max_user_code_retries):
        flow.stamp_post = step_name

    def task_exception(self, exception, step_name, flow, graph, retry_count,
                       max_user_code_retries):
        if self.attributes["forgive"] and isinstance(exception, ValueError):
            flow.stamp_forgiven = str(exception)
            return True
        return None

    def task_finished(self, step_name, flow, graph, is_task_ok, retry_count,
                      max_user_code_retries):
        with open("finished.txt", "a") as out:
            out.write("%s %s\n" % (step_name, is_task_ok))


class AuditTasks(StepDecorator):
    name = "audit_tasks"

    def runtime_task_created(self, task_datastore, task_id, split_index, input_paths,
                             is_cloned, ubf_context):
        print("audited by Metaflow's runtime")

"""Tiny flows, one decorator behaviour each (fixtures for test_decorators.py)."""

import os
import time

from flowassets import (
    FlowSpec, catch, conda, current, environment, pypi, retry, secrets, step, timeout,
)


class RetryFlow(FlowSpec):
    @retry(times=3, minutes_between_retries=0)
    @step
    def start(self):
        with open("attempts.txt", "a") as handle:  # a side effect each attempt leaves behind
            handle.write(f"{current.retry_count}\n")
        if current.retry_count < 2:
            raise RuntimeError(f"flaky on attempt {current.retry_count}")
        self.succeeded_on = current.retry_count
        self.next(self.end)

    @step
    def end(self):
        pass


class RetryExhaustedFlow(FlowSpec):
    @retry(times=1, minutes_between_retries=0)
    @step
    def start(self):
        raise RuntimeError(f"always fails (attempt {current.retry_count})")
        self.next(self.end)

    @step
    def end(self):
        pass


class TimeoutFlow(FlowSpec):
    @timeout(seconds=1)
    @step
    def start(self):
        time.sleep(120)
        self.next(self.end)

    @step
    def end(self):
        pass


class TimeoutCaughtFlow(FlowSpec):
    @catch(var="timed_out", print_exception=False)
    @timeout(seconds=1)
    @step
    def start(self):
        self.before = "set before the sleep"
        time.sleep(120)
        self.after = "never"
        self.next(self.end)

    @step
    def end(self):
        self.failure_type = self.timed_out.type


class CatchFlow(FlowSpec):
    @step
    def start(self):
        self.upstream = "from start"
        self.next(self.risky)

    @catch(var="failure")
    @step
    def risky(self):
        self.kept = [1, 2]
        raise ValueError("boom in risky")
        self.next(self.end)

    @step
    def end(self):
        self.seen = (self.failure.type, self.failure.message, self.kept, self.upstream)


class EnvironmentFlow(FlowSpec):
    @environment(vars={"FA_GREETING": "hello", "FA_NUMBER": 3})
    @step
    def start(self):
        self.greeting = os.environ["FA_GREETING"]
        self.number = os.environ["FA_NUMBER"]
        self.next(self.end)

    @step
    def end(self):
        self.later = os.environ.get("FA_GREETING")  # the variable belongs to start only


class SecretsFlow(FlowSpec):
    @secrets(sources=["env-file:secrets.env", "env:FA_TEST_TOKEN"])
    @step
    def start(self):
        print("db password is", os.environ["DB_PASSWORD"])
        print("token is", os.environ["FA_TEST_TOKEN"], flush=True)
        os.system("echo subprocess sees $DB_PASSWORD")
        self.password_length = len(os.environ["DB_PASSWORD"])
        self.next(self.end)

    @step
    def end(self):
        self.outside = os.environ.get("DB_PASSWORD")


class SecretInErrorFlow(FlowSpec):
    @secrets(sources=["env-file:secrets.env"])
    @step
    def start(self):
        raise ValueError(f"could not log in with {os.environ['DB_PASSWORD']}")
        self.next(self.end)

    @step
    def end(self):
        pass


class PypiCondaFlow(FlowSpec):
    @pypi(packages={"pandas": "2.2.0"})
    @step
    def start(self):
        self.next(self.end)

    @conda(packages={"numpy": "1.26"})
    @step
    def end(self):
        pass


class KubernetesSecretFlow(FlowSpec):
    @secrets(sources=["fa-db-creds"])
    @step
    def start(self):
        print("user", os.environ["DB_USER"], "password", os.environ["DB_PASSWORD"])
        self.user = os.environ["DB_USER"]
        self.next(self.end)

    @step
    def end(self):
        pass

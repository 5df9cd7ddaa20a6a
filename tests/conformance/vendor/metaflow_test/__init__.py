# Adapted from Netflix/metaflow, test/core/metaflow_test/__init__.py at commit
# d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0).
# Changes: try_to_get_card reduced to a stub (it reads a card with Metaflow's get_cards inside
# a running task, which only the refresh tests do; they are not vendored: flowassets draws a
# card once, when the task ends);
# new_checker knows FlowassetsCheck (flowassets_check.py) instead of Metaflow's CLI/metadata
# checkers, which read Metaflow's own datastore.
import os
import sys

from metaflow import current
from metaflow.exception import MetaflowException


def steps(prio, quals, required=False):
    def wrapper(f):
        f.is_step = True
        f.prio = prio
        f.quals = set(quals)
        f.required = required
        f.tags = []
        return f

    return wrapper


def tag(tagspec, **kwargs):
    def wrapper(f):
        f.tags.append(tagspec)
        return f

    return wrapper


def truncate(var):
    var = str(var)
    if len(var) > 500:
        var = "%s..." % var[:500]
    return var


def try_to_get_card(id=None, timeout=60):
    raise NotImplementedError("cards are drawn when the task ends: not readable while it runs")


class AssertArtifactFailed(Exception):
    pass


class AssertLogFailed(Exception):
    pass


class AssertCardFailed(Exception):
    pass


class ExpectationFailed(Exception):
    def __init__(self, expected, got):
        super(ExpectationFailed, self).__init__(
            "Expected result: %s, got %s" % (truncate(expected), truncate(got))
        )


class ResumeFromHere(MetaflowException):
    headline = "Resume requested"

    def __init__(self):
        super(ResumeFromHere, self).__init__(
            "This is not an error. " "Testing resume..."
        )


class TestRetry(MetaflowException):
    headline = "Testing retry"

    def __init__(self):
        super(TestRetry, self).__init__("This is not an error. " "Testing retry...")


def is_resumed():
    return current.origin_run_id is not None


def origin_run_id_for_resume():
    return current.origin_run_id


def assert_equals(expected, got):
    if expected != got:
        raise ExpectationFailed(expected, got)


def assert_equals_metadata(expected, got, exclude_keys=None):
    exclude_keys = set(exclude_keys if exclude_keys is not None else [])
    k1_set = set(expected.keys()).difference(exclude_keys)
    k2_set = set(got.keys()).difference(exclude_keys)
    sym_diff = k1_set.symmetric_difference(k2_set)
    if len(sym_diff) > 0:
        raise ExpectationFailed("keys: %s" % str(k1_set), "keys: %s" % str(k2_set))
    for k in k1_set:
        if expected[k] != got[k]:
            raise ExpectationFailed(
                "[%s]: %s" % (k, str(expected[k])), "[%s]: %s" % (k, str(got[k]))
            )


def assert_exception(func, exception):
    try:
        func()
    except exception:
        return
    except Exception as ex:
        raise ExpectationFailed(exception, ex)
    else:
        raise ExpectationFailed(exception, "no exception")


class MetaflowTest(object):
    PRIORITY = 999999999
    PARAMETERS = {}
    INCLUDE_FILES = {}
    CONFIGS = {}
    CLASS_VARS = {}
    HEADER = ""

    def check_results(self, flow, checker):
        return False


class MetaflowCheck(object):
    def __init__(self, flow):
        pass

    def get_run(self):
        return None

    @property
    def run_id(self):
        return sys.argv[2]

    @property
    def cli_options(self):
        return sys.argv[3:]

    def assert_artifact(self, step, name, value, fields=None):
        raise NotImplementedError()

    def artifact_dict(self, step, name):
        raise NotImplementedError()

    def assert_log(self, step, logtype, value, exact_match=True):
        raise NotImplementedError()


def new_checker(flow):
    from . import flowassets_check

    CHECKER = {"FlowassetsCheck": flowassets_check.FlowassetsCheck}
    CLASSNAME = sys.argv[1]
    return CHECKER[CLASSNAME](flow)

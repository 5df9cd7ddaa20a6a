# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/exceptions/mfextinit_test_org.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

from metaflow.exception import MetaflowException


class MetaflowTestException(MetaflowException):
    headline = "Subservice error"

    def __init__(self, error):
        msg = "Test error: '%s'" % error
        super(MetaflowTestException, self).__init__(msg)

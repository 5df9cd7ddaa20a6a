# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/plugins/frameworks/__init__.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

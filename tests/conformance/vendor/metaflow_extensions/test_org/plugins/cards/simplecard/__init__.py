# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/plugins/cards/simplecard/__init__.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

from metaflow.cards import MetaflowCard
from metaflow.plugins.cards.card_modules.test_cards import TestEditableCard


class TestNonEditableImportCard(MetaflowCard):
    type = "non_editable_import_test_card"

    ALLOW_USER_COMPONENTS = False

    def __init__(self, options={}, components=[], graph=None, flow=None, **kwargs):
        self._options, self._components, self._graph = options, components, graph

    def render(self, task):
        return task.pathspec


class TestEditableImportCard(TestEditableCard):
    type = "editable_import_test_card"

    ALLOW_USER_COMPONENTS = True


CARDS = [TestEditableImportCard, TestNonEditableImportCard]

"""Cards of unchanged Metaflow flows, drawn by Metaflow's own card code, in the task process.

``current.card`` is Metaflow's ``CardComponentCollector`` (so ``append``, ``current.card[id]``,
the default-editable rules and warnings are Metaflow's), and each card is drawn by the class
Metaflow registers for its type (``metaflow.plugins.CARDS``: default, blank, error, the test
cards, extensions) through Metaflow's ``update_card``, with Metaflow's error card when a card
fails. What Metaflow does in a ``card create`` subprocess over its own datastore, this does in
the task over flowassets' store; the task a card class reads is ``TaskView`` (the parts of
``metaflow.Task`` cards use). Imported only when a Metaflow flow runs.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any, Iterator

from ..authoring.decorators import DecoratorSpec
from .collector import CardSlot, warn
from .render import CardTask, artifact_rows
from .summary import card_markdown


def _logger(message: str, **_: Any) -> None:
    print(message, file=sys.stderr, flush=True)


class _RuntimeUpdatesIgnored:
    """Metaflow's collector asks its card creator for live re-draws on ``refresh()``; cards
    are drawn once, when the task ends, so those requests are dropped."""

    def create(self, **_: Any) -> None:
        return None


def bind(slots: list[CardSlot], specs: list[DecoratorSpec]) -> Any:
    """Metaflow's ``current.card`` with one card per @card (as CardDecorator.task_pre_step)."""
    from metaflow import current
    from metaflow.plugins.cards.component_serializer import (
        CardComponentCollector, get_card_class,
    )

    collector = CardComponentCollector(_logger, _RuntimeUpdatesIgnored())
    # Metaflow reads METAFLOW_CARD_NO_WARNING when it is imported; a task's @environment sets it
    # later here (Metaflow sets it before the task process starts).
    collector._no_warnings = collector._no_warnings or bool(os.environ.get("METAFLOW_CARD_NO_WARNING"))
    current._update_env({"card": collector})
    for slot, spec in zip(slots, specs):
        attributes = spec.resolved()
        card_class = get_card_class(slot.type)
        meta = collector._add_card(
            slot.type, slot.id, attributes, slot.options,
            editable=bool(card_class and card_class.ALLOW_USER_COMPONENTS),
            customize=str(attributes.get("customize")) == "True",
            runtime_card=bool(card_class and card_class.RUNTIME_UPDATABLE),
            refresh_interval=attributes.get("refresh_interval", 5))
        slot.uuid = meta["uuid"]
    collector._finalize()
    return collector


class _Artifact:
    def __init__(self, task: CardTask, name: str):
        self.id = self.name = name
        self._task, self._ref = task, task.record.artifacts[name]
        self.size = self._ref.size

    @property
    def data(self) -> Any:
        return self._task.store.load(self._ref, self.id)


class TaskView:
    """The finished task as a Metaflow card's ``render(task)`` reads it."""

    def __init__(self, task: CardTask, only: frozenset[str] | None = None):
        self._task, self._only = task, only
        record = task.record
        self.pathspec = task.pathspec
        self.id = record.task_id
        self.finished = self.successful = True
        self.current_attempt = record.attempt
        self.created_at = datetime.datetime.fromtimestamp(record.started_at)
        self.finished_at = datetime.datetime.fromtimestamp(record.finished_at or record.started_at)
        self.stdout = self.stderr = ""  # the output is kept by the step once the task exits
        self.parent = _StepView(task)

    def _names(self) -> list[str]:
        names = sorted(self._task.record.artifacts)
        if self._only is not None:
            return [n for n in names if n in self._only]
        return [n for n in names if not n.startswith("_")]

    def __iter__(self) -> Iterator[_Artifact]:
        return (_Artifact(self._task, n) for n in self._names())

    def __getitem__(self, name: str) -> _Artifact:
        if name not in self._task.record.artifacts:
            raise KeyError(name)
        return _Artifact(self._task, name)

    def __contains__(self, name: str) -> bool:
        return name in self._task.record.artifacts

    @property
    def data(self) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(**{a.id: a.data for a in self})


class _StepView:
    def __init__(self, task: CardTask):
        self.id = task.record.step
        self.pathspec = f"{task.flow_name}/{task.run_id}/{self.id}"
        self.parent = _RunView(task)


class _RunView:
    def __init__(self, task: CardTask):
        from metaflow.util import get_username

        self._task = task
        self.id = task.run_id
        self.pathspec = f"{task.flow_name}/{task.run_id}"
        user = get_username()
        self.tags = sorted(task.tags) + ([f"user:{user}"] if user else [])

    def __contains__(self, name: str) -> bool:
        return name == "_parameters" and bool(self._parameters())

    def _parameters(self) -> frozenset[str]:
        return frozenset(n for n in self._task.parameter_names if n in self._task.record.artifacts)

    def __getitem__(self, name: str) -> Any:
        if name != "_parameters" or not self._parameters():
            raise KeyError(name)
        from types import SimpleNamespace

        return SimpleNamespace(task=TaskView(self._task, self._parameters()))


def _graph(flow: Any) -> tuple[dict, dict]:
    graph = type(flow)._graph
    steps, _ = graph.output_steps()
    return steps, {"steps": steps, "start_step": getattr(graph, "start_step", "start"),
                   "end_step": getattr(graph, "end_step", "end")}


def draw(slot: CardSlot, collector: Any, task: CardTask, flow: Any) -> tuple[str, str] | None:
    """One card as (HTML, Markdown summary) the way Metaflow's ``card create`` draws it: the
    card class's ``render`` under the card's timeout, else Metaflow's error card."""
    import inspect
    import threading

    from metaflow.cards import ErrorCard
    from metaflow.plugins.cards.card_cli import _extract_reload_token, update_card
    from metaflow.plugins.cards.component_serializer import get_card_class
    from metaflow.plugins.cards.exception import (
        CardClassFoundException, IncorrectCardArgsException, UnrenderableCardException,
    )

    view = TaskView(task)
    components = collector._serialize_components(slot.uuid)
    data = collector._get_latest_data(slot.uuid, final=True, mode="render")
    card_class = get_card_class(slot.type)
    timeout = slot.timeout if threading.current_thread() is threading.main_thread() else None
    error, page = None, None
    if card_class is None:
        error = str(CardClassFoundException(slot.type))
    else:
        steps, graph_info = _graph(flow)
        kwargs: dict[str, Any] = {"components": components, "graph": steps, "flow": flow}
        try:
            if "graph_info" in inspect.signature(card_class).parameters:
                kwargs["graph_info"] = graph_info
        except (TypeError, ValueError):
            pass
        if slot.options:
            kwargs["options"] = slot.options
        try:
            card = card_class(**kwargs)
        except TypeError:
            card, error = None, str(IncorrectCardArgsException(slot.type, slot.options))
        if card is not None:
            try:
                info = update_card(card, "render", view, data, timeout_value=timeout)
            except Exception:  # noqa: BLE001 - Metaflow's create keeps it as an error card
                error = str(UnrenderableCardException(slot.type, slot.options))
            else:
                if info.timed_out:
                    error = (f"\nCard rendering timed out after {timeout} seconds. To increase "
                             "the timeout duration for card rendering, please set the `timeout` "
                             f"parameter in the @card decorator. \nStack Trace : \n"
                             f"{info.timeout_stack_trace}")
                elif info.data is None:
                    error = f"No information rendered from card of type {slot.type}"
                else:
                    page = info.data
    if error is not None:
        if not slot.save_errors:
            warn(f"card {slot.type!r} failed and save_errors=False, so it is not kept:\n{error}")
            return None
        error_card = ErrorCard()
        page = error_card.render(view, stack_trace=error).replace(
            error_card.RELOAD_POLICY_TOKEN, _extract_reload_token(data, view, error_card))
        return page, f"**Card render failed**\n\n```\n{error[-1500:]}\n```"
    rows = artifact_rows(task) if slot.type in ("default", "default_json") else None
    return str(page), card_markdown(slot.type if slot.id is None else f"{slot.type} ({slot.id})",
                                    components, rows)

"""Drawing a task's cards: set up ``current.card`` before the body, draw and keep after it.

Runs in the task's own process (forked locally, or the task's pod), so a card is written where
the task ran, to the run's store. As in Metaflow a card is drawn only when the task succeeded
(``@catch`` counts as success), a card that fails or overruns its ``timeout`` never fails the
task: it becomes Metaflow's error card (``save_errors=True``, the default) or is dropped with
a warning. Unchanged Metaflow flows are drawn by Metaflow's own card classes
(``metaflow_cards``); flowassets' own flows by ``html.py``, without importing Metaflow.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from ..authoring.decorators import DecoratorSpec
from ..storage.artifacts import ArtifactStore
from ..storage.manifest import CardRef, TaskRecord
from . import html, store, summary
from .collector import CardCollector, CardSlot, warn
from .components import render_component, short_repr

#: Artifacts larger than this are named, not loaded, in a default card (Metaflow: 200 MB).
MAX_SHOWN_BYTES = 10 << 20


@dataclass(frozen=True)
class CardTask:
    """What drawing a task's cards needs to know about the finished task."""

    store: ArtifactStore
    flow_name: str
    run_id: str
    record: TaskRecord
    parameter_names: frozenset[str]
    tags: frozenset[str] = frozenset()

    @property
    def pathspec(self) -> str:
        return f"{self.flow_name}/{self.run_id}/{self.record.step}/{self.record.task_id}"


@dataclass
class CardSession:
    """The cards of one running task; ``collector`` is what ``current.card`` is."""

    slots: list[CardSlot]
    collector: Any
    is_metaflow: bool


def card_specs(decorators: tuple[DecoratorSpec, ...]) -> list[DecoratorSpec]:
    return [d for d in decorators if d.name == "card"]


def start(decorators: tuple[DecoratorSpec, ...], is_metaflow: bool) -> CardSession | None:
    """Make ``current.card`` for a step with @card (None without)."""
    specs = card_specs(decorators)
    if not specs:
        return None
    slots = []
    for spec in specs:
        args = spec.resolved()
        slots.append(CardSlot(type=str(args["type"]), id=args["id"], options=dict(args["options"] or {}),
                              timeout=int(args["timeout"] or 0),
                              save_errors=str(args["save_errors"]) != "False",
                              uuid=uuid.uuid4().hex))
    if is_metaflow:
        from . import metaflow_cards

        return CardSession(slots, metaflow_cards.bind(slots, specs), True)
    return CardSession(slots, CardCollector(slots), False)


def finish(session: CardSession, task: CardTask, flow: Any) -> tuple[CardRef, ...]:
    """Draw and keep every card of the finished task; never raises for a card's sake."""
    refs = []
    for slot in session.slots:
        try:
            if session.is_metaflow:
                from . import metaflow_cards

                drawn = metaflow_cards.draw(slot, session.collector, task, flow)
            else:
                drawn = _draw_own(slot, task)
        except Exception:  # noqa: BLE001 - a card must not fail its task
            warn(f"card {slot.type!r} could not be drawn:\n{traceback.format_exc()}")
            continue
        if drawn is None:
            continue
        page, text = drawn
        try:
            refs.append(store.save_card(task.store, task.run_id, task.record.step,
                                        task.record.task_id, slot.type, slot.id, slot.uuid,
                                        page, text))
        except Exception as exc:  # noqa: BLE001 - e.g. the store is unreachable
            warn(f"card {slot.type!r} could not be saved: {exc}")
    return tuple(refs)


class CardTimeout(Exception):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Raise ``CardTimeout`` after ``seconds`` (SIGALRM; only in a process's main thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise CardTimeout(f"card rendering timed out after {seconds} seconds")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def artifact_rows(task: CardTask, include_parameters: bool = False) -> list[tuple[str, str, str]]:
    """(name, type, shortened value) of the task's artifacts, parameters left out unless asked."""
    rows = []
    for name, ref in sorted(task.record.artifacts.items()):
        if name.startswith("_") or (name in task.parameter_names) != include_parameters:
            continue
        if ref.size > MAX_SHOWN_BYTES:
            rows.append((name, ref.type, f"<artifact too large: {ref.size} bytes>"))
            continue
        try:
            value = short_repr(task.store.load(ref, name), 200)
        except Exception as exc:  # noqa: BLE001 - e.g. a class the card process cannot import
            value = f"<cannot be read here: {type(exc).__name__}>"
        rows.append((name, ref.type, value))
    return rows


def _default_sections(task: CardTask) -> list[dict[str, Any]]:
    record = task.record
    started, finished = record.started_at, record.finished_at or time.time()
    info = {"Task Created On": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "Task Finished On": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(finished)),
            "Task Duration": f"{finished - started:.1f} s", "Attempt": record.attempt,
            "Tags": ", ".join(sorted(task.tags))}

    def artifacts(rows: list[tuple[str, str, str]], empty: str) -> dict[str, Any]:
        if not rows:
            return {"type": "text", "text": empty}
        return {"type": "artifacts", "data": [{"name": n, "type": t, "data": v} for n, t, v in rows]}

    return [
        {"type": "section", "title": "Task Metadata", "contents": [
            {"type": "table", "columns": list(info), "data": [list(info.values())]}]},
        {"type": "section", "title": "Flow Parameters",
         "contents": [artifacts(artifact_rows(task, True), "No Parameters")]},
        {"type": "section", "title": "Artifacts",
         "contents": [artifacts(artifact_rows(task), "No Artifacts")]},
    ]


def _draw_own(slot: CardSlot, task: CardTask) -> tuple[str, str] | None:
    """An own flow's card as (HTML, Markdown summary), or its error card, or None."""
    try:
        with deadline(slot.timeout):
            components = [render_component(c) for c in slot.components]
            if slot.type == "default":
                title = task.pathspec
                shown = components + _default_sections(task)
                rows = artifact_rows(task)
            elif slot.type == "blank":
                title = str(slot.options.get("title") or "")
                shown, rows = components, []
            else:
                raise ValueError(
                    f"card type {slot.type!r} is not one flowassets draws for its own flows "
                    "(default, blank); Metaflow's and custom card types are drawn for flows "
                    "written with `from metaflow import ...`.")
            return html.page(title, shown), summary.card_markdown(title or slot.type, components, rows)
    except Exception:  # noqa: BLE001 - the card fails, never the task
        trace = traceback.format_exc()
        if not slot.save_errors:
            warn(f"card {slot.type!r} failed and save_errors=False, so it is not kept:\n{trace}")
            return None
        page = html.page("Error Card", [{"type": "section", "title": "Card Render Failed With Error",
                                         "contents": [{"type": "error", "data": trace}]}])
        return page, f"**Card render failed**\n\n```\n{trace[-1500:]}\n```"

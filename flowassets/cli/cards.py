"""``flowassets card view|get|list``: Metaflow's ``card`` commands over flowassets runs.

    flowassets card view FLOW/RUN_ID/STEP[/TASK_ID]        (or Metaflow's form:
    flowassets card view flow.py RUN_ID/STEP[/TASK_ID]      python flow.py card view RUN/STEP)
    flowassets card get  FLOW/RUN_ID/STEP[/TASK_ID] [FILE]  (the HTML on stdout, or into FILE)
    flowassets card list FLOW/RUN_ID/STEP[/TASK_ID] [--as-json] [--file F]

``STEP`` alone (with a flow file) means the flow's latest run. ``view`` prints the path of the
card's HTML file on this machine (a copy when the store is remote), or writes it to ``--file``.
``--type``, ``--id`` and ``--hash`` choose among several cards, as in Metaflow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

from ..errors import FlowassetsError

ACTIONS = ("view", "get", "list")
NOT_FOUND = "Card not found in datastore"  # Metaflow's CardNotPresentException headline


def add_parser(sub: argparse._SubParsersAction) -> None:
    card = sub.add_parser("card", help="view, get or list the cards (@card) of a task")
    card.add_argument("words", nargs="+", metavar="view|get|list [FLOW_FILE] PATHSPEC [FILE]")
    card.add_argument("--type", help="only cards of this type")
    card.add_argument("--id", help="only the card with this id")
    card.add_argument("--hash", help="only the card with this hash (a prefix is enough)")
    card.add_argument("--file", help="view/list: write the HTML (or the JSON list) to this file")
    card.add_argument("--as-json", action="store_true", help="list: as JSON (Metaflow's shape)")
    card.add_argument("--flow", help="flow class name when the file defines several")


def run_command(args: argparse.Namespace) -> int:
    words = list(args.words)
    actions = [w for w in words if w in ACTIONS]
    if not actions:
        raise FlowassetsError(f"card takes one of {', '.join(ACTIONS)}, e.g. "
                              "`flowassets card view FLOW/RUN_ID/STEP`.")
    action = actions[0]
    words.remove(action)
    flow_file = next((w for w in words if w.endswith(".py")), None)
    if flow_file:
        words.remove(flow_file)
    if not words:
        raise FlowassetsError(f"card {action} needs a pathspec: FLOW/RUN_ID/STEP[/TASK_ID], or "
                              "FLOW_FILE.py RUN_ID/STEP[/TASK_ID].")
    pathspec, rest = words[0].strip("/"), words[1:]
    records, run, where = _task_records(pathspec, flow_file, args.flow)
    from ..cards.store import card_html, card_location, select_cards

    found = select_cards(records, args.type, args.id, args.hash)
    if action == "list":
        return _list(where, found, args)
    if not found:
        print(f"{NOT_FOUND}: no card of {where}"
              + "".join(f" {k}={v}" for k, v in (("type", args.type), ("id", args.id),
                                                   ("hash", args.hash)) if v), file=sys.stderr)
        return 1
    if len(found) > 1:
        print(f"{len(found)} cards match {where}; choose one with --type, --id or --hash:",
              file=sys.stderr)
        for record, ref in found:
            print(f"  task {record.task_id}  type {ref.type}  id {ref.id}  hash {ref.hash}",
                  file=sys.stderr)
        return 1
    _, ref = found[0]
    target = rest[0] if rest else args.file
    if action == "get" and target is None:
        sys.stdout.write(card_html(run.store, ref))
        return 0
    if target is None:  # view without --file: a file on this machine to open
        location = card_location(run.store, ref)
        if not os.path.exists(location):
            target = os.path.join(tempfile.mkdtemp(prefix="flowassets-card-"), ref.filename)
        else:
            print(location)
            return 0
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(card_html(run.store, ref))
    if action == "view":
        print(target)
    return 0


def _task_records(pathspec: str, flow_file: str | None, flow: str | None) -> tuple[list[Any], Any, str]:
    """The finished task records PATHSPEC names, its client Run, and the pathspec in full."""
    from ..client import Flow

    parts = pathspec.split("/")
    if flow_file or (flow and len(parts) <= 3):
        if flow_file and not flow:
            from ..authoring.loader import load_flow_class

            flow = load_flow_class(flow_file).__name__
        parts = [flow, *parts]
    if len(parts) == 2:  # FLOW/STEP: the latest run, as Metaflow's `card view STEP`
        latest = Flow(parts[0]).latest_run
        if latest is None:
            raise FlowassetsError(f"flow {parts[0]} has no run.")
        parts = [parts[0], latest.id, parts[1]]
    if len(parts) not in (3, 4) or not all(parts):
        raise FlowassetsError(f"{pathspec!r} is not a pathspec: give FLOW/RUN_ID/STEP[/TASK_ID], "
                              "or FLOW_FILE.py RUN_ID/STEP[/TASK_ID].")
    run = Flow(parts[0])[parts[1]]
    step = run[parts[2]]
    tasks = [step[parts[3]]] if len(parts) == 4 else list(step)
    return [t.record for t in tasks], run, "/".join(parts)


def _list(where: str, found: list[Any], args: argparse.Namespace) -> int:
    cards = [{"id": ref.id, "hash": ref.hash, "type": ref.type, "filename": ref.filename}
             for _, ref in found]
    if args.as_json:
        text = json.dumps({"pathspec": where, "cards": cards}, indent=4)
        if args.file:
            with open(args.file, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            print(text)
        return 0
    print(f"Found {len(found)} card(s) for {where}")
    for record, ref in found:
        print(f"  task {record.task_id}  type {ref.type}  id {ref.id}  hash {ref.hash}")
    return 0

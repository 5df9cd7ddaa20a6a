"""``flowassets tag add|remove|replace|list``: Metaflow's ``tag`` command over Dagster runs.

    flowassets tag add FLOW/RUN_ID TAG [TAG ...]          (or Metaflow's form:
    flowassets tag add flow.py --run-id RUN_ID TAG ...     python flow.py tag add --run-id ...)
    flowassets tag replace FLOW/RUN_ID OLD NEW            (or --remove OLD --add NEW, repeatable)
    flowassets tag list FLOW/RUN_ID [--hide-system-tags] [--flat]
"""

from __future__ import annotations

import argparse

from ..errors import FlowassetsError


def add_parser(sub: argparse._SubParsersAction) -> None:
    tag = sub.add_parser("tag", help="add, remove, replace or list a run's tags (Metaflow's tags, "
                         "kept on the Dagster run)")
    actions = tag.add_subparsers(dest="tag_action", required=True)
    for action in ("add", "remove", "replace", "list"):
        cmd = actions.add_parser(action)
        cmd.add_argument("target", metavar="FLOW/RUN_ID | FLOW_FILE")
        cmd.add_argument("tags", nargs="*", metavar="TAG")
        cmd.add_argument("--run-id", help="with a FLOW_FILE: the run (default: the latest)")
        cmd.add_argument("--flow", help="flow class name when the file defines several")
        if action == "replace":
            cmd.add_argument("--remove", action="append", default=[], metavar="TAG")
            cmd.add_argument("--add", action="append", default=[], metavar="TAG")
        if action == "list":
            cmd.add_argument("--hide-system-tags", action="store_true")
            cmd.add_argument("--flat", action="store_true", help="one tag per line")


def run_command(args: argparse.Namespace) -> int:
    run = _run_of(args)
    if args.tag_action == "list":
        return _list(run, args)
    if args.tag_action == "add":
        run.add_tags(_some(args.tags, args))
    elif args.tag_action == "remove":
        run.remove_tags(_some(args.tags, args))
    else:
        remove, add = list(args.remove), list(args.add)
        if len(args.tags) == 2 and not remove and not add:
            remove, add = [args.tags[0]], [args.tags[1]]
        elif args.tags:
            raise FlowassetsError("tag replace takes OLD NEW, or --remove OLD --add NEW (repeatable)")
        run.replace_tags(remove, add)
    print(f"{run.pathspec}: user tags now {', '.join(sorted(run.user_tags)) or '(none)'}")
    return 0


def _some(tags: list[str], args: argparse.Namespace) -> list[str]:
    if not tags:
        raise FlowassetsError(f"tag {args.tag_action} needs at least one TAG")
    return tags


def _list(run, args: argparse.Namespace) -> int:
    user = sorted(run.user_tags)
    system = [] if args.hide_system_tags else sorted(run.system_tags)
    if args.flat:
        for tag in user + system:
            print(tag)
        return 0
    print(f"{run.pathspec}")
    print("  user tags:   " + (", ".join(user) or "(none)"))
    if not args.hide_system_tags:
        print("  system tags: " + ", ".join(system))
    return 0


def _run_of(args: argparse.Namespace):
    from ..client import Flow

    target = args.target
    if target.endswith(".py"):
        from ..authoring.loader import load_flow_class
        from ..graph.build import build_graph

        flow = Flow(build_graph(load_flow_class(target, args.flow)).flow_name)
        if args.run_id:
            return _lookup(flow, args.run_id)
        latest = flow.latest_run
        if latest is None:
            raise FlowassetsError(f"flow {flow.name} has no runs to tag")
        return latest
    parts = target.strip("/").split("/")
    if len(parts) != 2:
        raise FlowassetsError(f"tag takes FLOW/RUN_ID or FLOW_FILE.py --run-id RUN_ID, not {target!r}")
    return _lookup(Flow(parts[0]), parts[1])


def _lookup(flow, run_id: str):
    try:
        return flow[run_id]
    except KeyError as exc:
        raise FlowassetsError(str(exc.args[0])) from None


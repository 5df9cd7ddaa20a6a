"""``python -m tests.support.k8s_emulator --port N``: serve the emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
from pathlib import Path

from aiohttp import web

from .jobs import JobSettings
from .kubelet import NodeSettings
from .server import Emulator, write_kubeconfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.k8s_emulator", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, help="pod logs and kubeconfig.yaml (default: a temp dir)")
    parser.add_argument("--workdir", type=Path, default=Path.cwd(),
                        help="working directory of container processes without workingDir")
    parser.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig")
    parser.add_argument("--node-cpu", default="16")
    parser.add_argument("--node-memory", default="64Gi")
    parser.add_argument("--backoff-seconds", type=float, default=0.5)
    parser.add_argument("--fault-delay-seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        # a running pod holds a pidfd and each client connection a socket: 1,000 pods need more
        # than the common default of 1,024 descriptors
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = (args.state_dir or Path(tempfile.mkdtemp(prefix="k8s-emulator-"))).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = write_kubeconfig(args.kubeconfig or state_dir / "kubeconfig.yaml", args.port)
    logging.info("kubeconfig: %s", kubeconfig)
    emulator = Emulator(
        NodeSettings(workdir=args.workdir.resolve(), state_dir=state_dir, cpu=args.node_cpu,
                     memory=args.node_memory, fault_delay_s=args.fault_delay_seconds),
        JobSettings(backoff_s=args.backoff_seconds))
    web.run_app(emulator.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

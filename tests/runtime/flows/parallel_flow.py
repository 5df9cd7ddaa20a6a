"""@parallel with a real rendezvous, the way torch.distributed's TCP store meets: node 0 listens
on current.parallel.main_ip:port, every other node connects and says who it is, node 0 answers
with the whole world. Stdlib sockets only, so no torch is needed."""

import json
import os
import socket
import time

from flowassets import FlowSpec, Parameter, current, kubernetes, parallel, retry, step

TIMEOUT_S = 60


def rendezvous(main_ip: str, port: int, node_index: int, num_nodes: int) -> list[int]:
    """Every node returns the sorted node indices of the world, or raises after TIMEOUT_S."""
    if node_index == 0:
        with socket.create_server((main_ip, port)) as server:
            server.settimeout(TIMEOUT_S)
            peers, seen = [], [0]
            while len(peers) < num_nodes - 1:
                conn, _ = server.accept()
                peers.append(conn)
                seen.append(json.loads(conn.makefile().readline())["node_index"])
            world = sorted(seen)
            for conn in peers:
                conn.sendall((json.dumps(world) + "\n").encode())
                conn.close()
            return world
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            conn = socket.create_connection((main_ip, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with conn:
        conn.sendall((json.dumps({"node_index": node_index}) + "\n").encode())
        conn.settimeout(TIMEOUT_S)
        return json.loads(conn.makefile().readline())


class ParallelFlow(FlowSpec):
    nodes = Parameter("nodes", type=int, default=4)
    port = Parameter("port", type=int, default=29500)

    @step
    def start(self):
        self.next(self.train, num_parallel=self.nodes)

    @parallel
    @step
    def train(self):
        info = current.parallel
        self.node_index, self.num_nodes = info.node_index, info.num_nodes
        self.main_ip, self.control_task_id = info.main_ip, info.control_task_id
        self.my_task_id = current.task_id
        self.world = rendezvous(info.main_ip, self.port, info.node_index, info.num_nodes)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.indices = sorted(inp.node_index for inp in inputs)
        self.worlds = [inp.world for inp in inputs]
        self.main_ips = sorted({inp.main_ip for inp in inputs})
        self.controls = sorted({inp.control_task_id for inp in inputs})
        self.num_nodes_seen = sorted({inp.num_nodes for inp in inputs})
        self.task_ids = sorted(inp.my_task_id for inp in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


class ParallelK8sFlow(ParallelFlow):
    """The same gang on Kubernetes: each node records the pod it ran in."""

    @kubernetes(cpu=0.5, memory=512)
    @parallel
    @step
    def train(self):
        info = current.parallel
        self.node_index, self.num_nodes = info.node_index, info.num_nodes
        self.main_ip, self.control_task_id = info.main_ip, info.control_task_id
        self.my_task_id = current.task_id
        self.pod = os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME")
        self.world = rendezvous(info.main_ip, self.port, info.node_index, info.num_nodes)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.indices = sorted(inp.node_index for inp in inputs)
        self.worlds = [inp.world for inp in inputs]
        self.main_ips = sorted({inp.main_ip for inp in inputs})
        self.controls = sorted({inp.control_task_id for inp in inputs})
        self.num_nodes_seen = sorted({inp.num_nodes for inp in inputs})
        self.pods = {inp.node_index: inp.pod for inp in inputs}
        self.next(self.end)


class ParallelFailFlow(ParallelFlow):
    """Node 1 fails before the rendezvous the other nodes wait in."""

    @kubernetes(cpu=0.5, memory=512)
    @parallel
    @step
    def train(self):
        self.node_index = current.parallel.node_index
        self.pod = os.environ.get("FLOWASSETS_KUBERNETES_POD_NAME")
        if self.node_index == 1:
            raise ValueError(f"node 1 cannot train in {self.pod}")
        # Never completes (node 1 is gone): only stopping the gang ends these nodes early.
        self.world = rendezvous(current.parallel.main_ip, self.port, self.node_index, current.parallel.num_nodes)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.indices = sorted(inp.node_index for inp in inputs)
        self.next(self.end)


class ParallelRetryFlow(ParallelFlow):
    """Node 1 fails its first attempt while the others wait for it: the retry re-runs all nodes."""

    @retry(times=1, minutes_between_retries=0)
    @parallel
    @step
    def train(self):
        info = current.parallel
        self.node_index, self.attempt_seen = info.node_index, current.retry_count
        if info.node_index == 1 and current.retry_count == 0:
            raise ValueError("node 1 fails its first attempt")
        self.world = rendezvous(info.main_ip, self.port, info.node_index, info.num_nodes)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.attempts = sorted(inp.attempt_seen for inp in inputs)
        self.worlds = [inp.world for inp in inputs]
        self.next(self.end)


class ParallelSleepFlow(ParallelFlow):
    """Every node works for a while (long enough for a fault or a cancel to hit it first)."""

    seconds = Parameter("seconds", type=float, default=5)

    @kubernetes(cpu=0.5, memory=512)
    @parallel
    @step
    def train(self):
        self.node_index = current.parallel.node_index
        time.sleep(self.seconds)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.indices = sorted(inp.node_index for inp in inputs)
        self.next(self.end)

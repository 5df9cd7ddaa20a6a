"""A small tmpfs to fill up, for chaos tests.

As root (CI) the tmpfs is mounted directly under the test's tmp_path. Otherwise (not root,
root without CAP_SYS_ADMIN, or ``FLOWASSETS_CHAOS_USERNS=1``) it lives in a private user+mount
namespace held by a sleeping ``unshare --user --map-root-user --mount`` process: commands that
must see it run through ``nsenter`` into that namespace, and this process reads it through
``/proc/<pid>/root``.
Either way the teardown unmounts it, so a failed test leaves no mount behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOURCE = "flowassets-chaos"  # the device name `mount` and `df` show


@dataclass
class Tmpfs:
    """A tmpfs at ``mountpoint``; ``view`` is the same folder as this process sees it."""

    mountpoint: Path
    view: Path
    enter: list[str] = field(default_factory=list)  # command prefix into its namespace
    holder: subprocess.Popen | None = None

    def run(self, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command where the tmpfs is mounted, with this process's environment."""
        # Not nsenter --wd: it keeps a directory of the old namespace, under which the tmpfs
        # is not mounted; a `cd` inside the namespace resolves the path there.
        prefix = [*self.enter, "sh", "-c", 'cd "$0" && exec "$@"', str(cwd)] if self.enter else []
        return subprocess.run([*prefix, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=os.environ.copy())

    def flowassets(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "flowassets.cli.main", *args, cwd=cwd)

    def _mount(self, *args: str, check: bool = True) -> bool:
        done = subprocess.run([*self.enter, "mount", *args], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0 or not check, f"mount {' '.join(args)}: {done.stderr}"
        return done.returncode == 0

    def resize(self, size: str) -> None:
        # With type and source given, mount(8) does not copy uid=/gid= from mountinfo, which a
        # user namespace that maps only root refuses (EINVAL).
        self._mount("-t", "tmpfs", "-o", f"remount,size={size}", SOURCE, str(self.mountpoint))

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.view).free

    def unmount(self) -> None:
        try:
            if self.holder is None or self.holder.poll() is None:
                done = subprocess.run([*self.enter, "umount", str(self.mountpoint)],
                                      capture_output=True, text=True, timeout=30)
                if done.returncode != 0:  # still busy (a stray child): detach it now
                    subprocess.run([*self.enter, "umount", "-l", str(self.mountpoint)],
                                   capture_output=True, timeout=30)
        finally:
            if self.holder is not None:  # its namespace, and any mount left in it, go with it
                self.holder.kill()
                self.holder.wait(timeout=30)


def _use_userns() -> bool:
    return os.geteuid() != 0 or os.environ.get("FLOWASSETS_CHAOS_USERNS") == "1"


def mount_tmpfs(mountpoint: Path, size: str) -> Tmpfs:
    mountpoint.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755"
    if not _use_userns():
        fs = Tmpfs(mountpoint, mountpoint)
        if fs._mount("-t", "tmpfs", "-o", options, SOURCE, str(mountpoint), check=False):
            return fs
        # root without CAP_SYS_ADMIN (an unprivileged container): try a user namespace
    for tool in ("unshare", "nsenter"):
        assert shutil.which(tool), f"{tool} (util-linux) is needed to mount a tmpfs without root"
    holder = subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
         "sh", "-c", f'mount -t tmpfs -o {options} {SOURCE} "$0" && echo ready && '
                     "exec sleep 3600", str(mountpoint)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = holder.stdout.readline().strip()
    if ready != "ready":
        holder.kill()
        _, err = holder.communicate(timeout=30)
        pytest.fail(f"could not mount a tmpfs in a user namespace (unprivileged user "
                    f"namespaces disabled?): {err.strip()}")
    # --preserve-credentials: the caller's uid already maps to root in there, and nsenter's
    # own setgroups() is refused in a user namespace made by an unprivileged user.
    enter = ["nsenter", f"--target={holder.pid}", "--user", "--mount", "--preserve-credentials"]
    return Tmpfs(mountpoint, Path(f"/proc/{holder.pid}/root{mountpoint}"), enter, holder)

"""A per-user warm worker for ``flowassets run|resume|logs`` (the forkserver / dmypy pattern).

``import dagster`` and opening the instance cost about a second before any step runs. The
worker is a process that has already imported Dagster, flowassets and the instance's storage
modules; the ``flowassets`` command (the thin client: stdlib only, never Dagster) hands it its
argv, environment, working directory and stdin/stdout/stderr file descriptors over a Unix
socket, and the worker forks a child that becomes that command: same fds (so a terminal is a
terminal), same environment and directory, the flow file imported fresh, the CLI's ``main``
run exactly as the plain command runs it. The exit status (or the signal that killed it) goes
back to the client, which exits with it; the client forwards Ctrl-C and other signals.

Modules, from the client's side down: ``client`` (what the command does, cheap), ``place``
(where the worker lives and the key that says which installation it belongs to), ``wire``
(messages and fd passing), ``server`` (the worker's loop), ``preload`` (what it loads first), ``child`` (the forked command),
``command`` (``flowassets worker status|stop``).
"""

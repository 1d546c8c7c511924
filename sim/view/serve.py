"""``sim view``: serve the interactive view (``sim.app``) with Solara, until stopped.

The page runs in a child process, ``solara run sim.app``, told the scenario and the seed
through the environment; this process checks what it can before starting it (the viz
extra is installed, the port is free), says where the page is once the server answers,
and stops the server on Ctrl-C (or SIGTERM, SIGHUP) and exits 0. Standard library only:
the command imports Solara, Mesa's visualization and the model only in the child.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sim.batch.pool import Interrupted

#: What ``sim.app`` imports beyond the model's own dependencies (the ``viz`` extra).
VIZ_MODULES = ("solara", "altair", "networkx")
SCENARIO_VARIABLE = "SIM_VIEW_SCENARIO"
SEED_VARIABLE = "SIM_VIEW_SEED"
#: Seconds the server gets to stop after Ctrl-C before it is killed.
STOP_GRACE = 10.0


class ViewError(Exception):
    """The view cannot start: the viz extra is missing, or the port is taken."""


def missing_viz() -> list[str]:
    """The modules of the viz extra that are not installed."""
    return [m for m in VIZ_MODULES if importlib.util.find_spec(m) is None]


def check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on, before starting a server that would fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ViewError(
                f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another port"
            ) from None


def answers(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def server_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.view.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",  # no file watcher, no reloads: a viewer, not a dev server
        "--no-open",
        "--no-check-version",  # else it asks the package index at each start
        "--log-level",
        "warning",
    ]


def server_environment(scenario: str, seed: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env[SCENARIO_VARIABLE] = str(Path(scenario).resolve())
    if seed is not None:
        env[SEED_VARIABLE] = str(seed)
    # Mesa 3.3's SolaraViz breaks one of Solara's rules of hooks harmlessly (a state hook
    # after an early return), and Solara warns about cookies over plain http on each page
    env["SOLARA_CHECK_HOOKS"] = "off"
    env["PYTHONWARNINGS"] = "ignore:Cookies with samesite"
    return env


def serve(scenario: str, host: str, port: int, seed: int | None = None) -> int:
    """Serve the view of ``scenario`` until Ctrl-C; 0 once stopped, or the server's status
    if it ends by itself."""
    missing = missing_viz()
    if missing:
        raise ViewError(
            f"needs the viz extra ({', '.join(missing)} not installed): "
            "pip install -e '.[viz]' (or 'sim[viz]')"
        )
    check_port(host, port)
    server = subprocess.Popen(
        server_command(host, port), env=server_environment(scenario, seed), stdin=subprocess.DEVNULL
    )
    try:
        url = f"http://{host}:{port}/"
        while server.poll() is None and not answers(host, port):
            time.sleep(0.2)
        if server.poll() is None:
            print(f"sim view: {Path(scenario).name} at {url} (Ctrl-C to stop)", flush=True)
        status = server.wait()
        print(f"error: sim view: the server stopped with status {status}", file=sys.stderr)
        return status or 1
    except (KeyboardInterrupt, Interrupted):  # Ctrl-C; SIGTERM or SIGHUP (`sim` raises)
        stop(server)
        print("sim view: stopped", flush=True)
        return 0


def stop(server: subprocess.Popen) -> None:
    """Ask the server to stop (SIGTERM: a child started in the background ignores SIGINT),
    then kill it if it has not within ``STOP_GRACE`` seconds."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()

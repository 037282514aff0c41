"""One command for a newcomer: the local workspace plus JupyterLab with the quickstart open.

    python -m pt_widgets.widgets [--port 8888] [--no-browser] [jupyter lab options…]

Uses the local workspace that is already running (``~/.pt_widgets`` or ``$PT_WIDGETS_HOME``)
or starts one (``python -m pt_widgets.local serve``) and stops it again on exit; then runs
JupyterLab on the ``notebooks`` folder with ``quickstart.ipynb`` open. JupyterLab (and so
its kernels) gets ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` of the local workspace in its
environment, so ``App()`` talks to it even when a Databricks profile is configured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

READY_LINE = "pt-widgets local workspace ready at"
START_TIMEOUT_S = 180


def find_quickstart(explicit: str | None = None) -> Path:
    """``notebooks/quickstart.ipynb`` of the source tree (or the current folder)."""
    candidates = [Path(explicit)] if explicit else []
    package_root = Path(__file__).resolve().parents[2]
    candidates += [Path.cwd() / "notebooks" / "quickstart.ipynb",
                   Path.cwd() / "quickstart.ipynb",
                   package_root / "notebooks" / "quickstart.ipynb"]
    for path in candidates:
        if path.is_file():
            return path.resolve()
    raise SystemExit("Found no notebooks/quickstart.ipynb: run this from the pt_widgets source "
                     "folder, or pass --notebook PATH.")


def start_workspace(log: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m pt_widgets.local serve`` and wait for its ready line."""
    print("pt_widgets: starting the local workspace (first start loads the models)…",
          flush=True)
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    port = "8765" if _port_free(8765) else "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pt_widgets.local", "serve", "--port", port],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    host: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("a") as out:
            for line in proc.stdout:
                if line.startswith("export DATABRICKS_TOKEN"):
                    line = "export DATABRICKS_TOKEN=…\n"  # never echo the token
                out.write(line)
                out.flush()
                if line.startswith(READY_LINE):
                    host.append(line.split()[-1])
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or not host:
        proc.terminate()
        raise SystemExit(f"The local workspace did not start; see {log}.")
    return proc, host[0]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pt_widgets.widgets",
        description="Start the local workspace and JupyterLab with the pt_widgets quickstart.")
    parser.add_argument("--notebook", help="the notebook to open (default: the quickstart)")
    args, lab_args = parser.parse_known_args(argv)
    notebook = find_quickstart(args.notebook)

    from ..workspace import find_local_workspace, pt_widgets_home

    home = pt_widgets_home()
    home.mkdir(parents=True, exist_ok=True)
    server: subprocess.Popen[str] | None = None
    found = find_local_workspace()
    if found is None:
        server, _ = start_workspace(home / "local-workspace.log")
        deadline = time.monotonic() + 30
        while (found := find_local_workspace()) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if found is None:
            server.terminate()
            raise SystemExit("The local workspace started but cannot be found; "
                             f"see {home / 'local-workspace.log'}.")
    host, token = found
    print(f"pt_widgets: local workspace at {host}", flush=True)

    env = dict(os.environ, DATABRICKS_HOST=host, DATABRICKS_TOKEN=token)
    env.pop("DATABRICKS_CONFIG_PROFILE", None)
    jupyter = [sys.executable, "-m", "jupyter", "lab"]
    if shutil.which("jupyter") is None and not _has_jupyterlab():
        raise SystemExit("JupyterLab is not installed: pip install jupyterlab")
    command = [*jupyter, f"--ServerApp.root_dir={notebook.parent}",
               f"--LabApp.default_url=/lab/tree/{notebook.name}", *lab_args, notebook.name]
    if os.geteuid() == 0 and "--allow-root" not in lab_args:
        command.insert(4, "--allow-root")
    print(f"pt_widgets: opening {notebook.name} in JupyterLab; run its first cell to see the "
          "App.", flush=True)
    lab = subprocess.Popen(command, env=env, cwd=notebook.parent)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM: shut down like Ctrl+C, children included

    signal.signal(signal.SIGTERM, stop)
    try:
        return lab.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(lab)  # JupyterLab shuts its kernels down on SIGTERM
        if server is not None:
            _stop(server)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _has_jupyterlab() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyterlab") is not None


if __name__ == "__main__":
    sys.exit(main())

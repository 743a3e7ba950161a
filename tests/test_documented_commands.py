"""Every command in the ```sh blocks of the README and the experiment, playbook and Prometheus docs runs as written.

Each documented file's blocks run in order in one copy of a workspace made once per session by `seclo init` and
`seclo generate --days 90 --seed 1 --import` (the README's own data). A `seclo ...` command must exit as the docs
say (0 unless EXIT_CODES allows more). Anything else, a server, a background process, an external tool or a
command that cannot run here, must be listed below with the reason and how it is run instead: an unlisted
command that is not seclo's fails the test, so a new documented command is either runnable or marked.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pinned_clock import PINNED_NOW_TEXT

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTS = ("README.md", "docs/experiments.md", "docs/playbooks.md", "docs/prometheus.md")
GENERATE = "seclo generate --days 90 --seed 1 --import"
TOKEN = "documented-commands-token"  # noqa: S105 - a test's own token for the documented `serve --host 0.0.0.0`

# Commands not run, each with the reason.
NOT_RUN = {
    "python3 -m pip install .": "installs seclo into the interpreter running these tests (they run from it)",
    "seclo demo": "tests/test_demo.py runs it; a second run would double the suite's longest test",
    "bash scripts/test.sh": "runs this suite, and apt-get; it cannot run inside itself",
    GENERATE: "done once by the session workspace every test copies (the same data: the same seed and days)",
}
# Servers and other long-running commands, started in the background and stopped by the test (see _serve).
SERVERS = {
    "seclo serve": "runs until stopped: started on a free port, scraped until /metrics answers 200, then SIGTERM",
    "seclo serve --host 0.0.0.0": "the same, with SECLO_SERVE_TOKEN set; /metrics must answer with the token",
}
BACKGROUND = {
    "python experiments/detector.py --dir var": (
        "the example detector, until `kill %1`: started on free ports (--ports, --health-port), which "
        "SECLO_EXAMPLE_PORT and SECLO_EXAMPLE_HEALTH then give the starter experiments"
    ),
}
# External programs: run when installed, else reported as skipped.
EXTERNAL = {
    "promtool": "Prometheus' rule checker (Debian's prometheus package), which scripts/test.sh installs"
}
# Placeholders in the docs, replaced by real files (from tests/fixtures, or written by _findings_csv).
PLACEHOLDERS = {
    "/var/log/auth.log": str(FIXTURES / "logs" / "linux-syslog-2k.log"),
    "scan.xml": str(FIXTURES / "nmap" / "fullscan.xml"),
    "bom.json": str(FIXTURES / "sbom" / "juice-shop-11.1.2.cdx.json"),
    "advisory-database/vulns/": str(FIXTURES / "osv" / "pypi" / "requests"),
    "...": TOKEN,
}
# Exit codes a documented command may end with besides 0, and why.
EXIT_CODES = {
    "seclo slo status": (
        frozenset({0, 1}),
        "1 means an objective is breached, as some are in the generated organisation",
    ),
}
SUCCESS = frozenset({0})


@dataclass(frozen=True, slots=True)
class Command:
    """One command line of a ```sh block, without its comment."""

    document: str
    line: int
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}: {shlex.join(self.words)}"


def documented_commands(document: str) -> list[Command]:
    """The command lines of the ```sh blocks of `document`, in order (continuation lines joined)."""
    commands: list[Command] = []
    inside, pending, start = False, "", 0
    for number, line in enumerate((ROOT / document).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if not inside:
            continue
        if not pending:
            start = number
        pending += line.removesuffix("\\") + " "
        if line.endswith("\\"):
            continue
        words = tuple(shlex.split(pending, comments=True))
        pending = ""
        if words:
            commands.append(Command(document, start, words))
    return commands


def _findings_csv(folder: Path) -> Path:
    """A small canonical findings CSV, for the README's `seclo import findings findings.csv`."""
    path = folder / "findings.csv"
    path.write_text(
        "finding_id,asset_id,vuln_id,package,version,severity,opened_at,closed_at,status,fix_available\n"
        "doc-f1,web-01,CVE-2023-32681,requests,2.19.1,medium,2024-03-01T09:00:00Z,2024-03-20T17:30:00Z,closed,true\n"
        "doc-f2,web-01,CVE-2021-44228,log4j-core,2.14.1,critical,2024-03-02T08:15:00Z,,open,true\n",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seclo_env() -> dict[str, str]:
    return {**os.environ, "SECLO_NOW": PINNED_NOW_TEXT, "NO_COLOR": "1", "COLUMNS": "200"}


@pytest.fixture(scope="session")
def generated_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace for the session: `seclo init`, then the README's `seclo generate ... --import`."""
    root = tmp_path_factory.mktemp("documented") / "workspace"
    for command in (["init", str(root)], [*GENERATE.split()[1:], "--workspace", str(root)]):
        done = subprocess.run(
            [sys.executable, "-m", "seclo", *command],
            env=_seclo_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return root


@dataclass
class Shell:
    """Runs documented commands the way a user's shell would, one after another, and collects what failed."""

    cwd: Path
    env: dict[str, str]
    placeholders: dict[str, str]
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    jobs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, command: Command) -> None:
        """Run one command line: `A && B` in turn, `cd`, `kill %N`, `VAR=value cmd`, `cmd &`."""
        words = list(command.words)
        background = words[-1:] == ["&"]
        if background:
            words.pop()
        parts: list[list[str]] = [[]]
        for word in words:
            if word == "&&":
                parts.append([])
            else:
                parts[-1].append(word)
        for part in parts:
            if not self._one(command, part, background=background):
                return

    def _one(self, command: Command, words: list[str], *, background: bool) -> bool:
        env = dict(self.env)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = self.placeholders.get(value, value)
        text = " ".join(words)
        words = [self.placeholders.get(w, w) for w in words]
        if text in NOT_RUN:
            self.skipped.append(f"{command.where}: {NOT_RUN[text]}")
        if text in NOT_RUN or self._builtin(words):
            return True
        if text in BACKGROUND and background:
            return self._detector(command, words)
        if text in SERVERS:
            return self._serve(command, words, env)
        if words[0] in EXTERNAL:
            return self._external(command, words, env)
        if words[0] == "seclo" and not background:
            done = subprocess.run(
                [sys.executable, "-m", *words], cwd=self.cwd, env=env, capture_output=True, check=False
            )
            return self._check(command, done, EXIT_CODES.get(text, (SUCCESS, ""))[0])
        self.failures.append(f"{command.where}: not a seclo command, and not listed in this test")
        return False

    def _builtin(self, words: list[str]) -> bool:
        """Run `cd DIR` or `kill %N` (a job this shell started); False for any other command."""
        if words[0] == "cd":
            self.cwd = self.cwd / words[1]
            return True
        if words[0] == "kill" and words[1].startswith("%"):
            job = self.jobs[int(words[1][1:]) - 1]
            job.terminate()
            job.wait()
            return True
        return False

    def _external(self, command: Command, words: list[str], env: dict[str, str]) -> bool:
        if shutil.which(words[0]) is None:
            self.skipped.append(f"{command.where}: {words[0]} is not installed ({EXTERNAL[words[0]]})")
            return True
        done = subprocess.run(words, cwd=self.cwd, env=env, capture_output=True, check=False)
        return self._check(command, done, SUCCESS)

    def _check(
        self, command: Command, done: subprocess.CompletedProcess[bytes], allowed: frozenset[int]
    ) -> bool:
        if done.returncode in allowed:
            return True
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        self.failures.append(f"{command.where}: exit {done.returncode}\n{output}")
        return False

    def _detector(self, command: Command, words: list[str]) -> bool:
        watched, health = _free_port(), _free_port()
        python = sys.executable if words[0] in {"python", "python3"} else words[0]
        argv = [python, *words[1:], "--ports", str(watched), "--health-port", str(health)]
        job = subprocess.Popen(argv, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.jobs.append(job)
        pidfile = self.cwd / words[words.index("--dir") + 1] / "detector.pid"
        end = time.monotonic() + 60  # a hang guard, not a performance check
        while not pidfile.exists():
            if job.poll() is not None or time.monotonic() > end:
                self.failures.append(f"{command.where}: the detector did not start (exit {job.poll()})")
                return False
            time.sleep(0.01)
        self.env["SECLO_EXAMPLE_PORT"] = str(watched)
        self.env["SECLO_EXAMPLE_HEALTH"] = f"http://127.0.0.1:{health}/health"
        return True

    def _serve(self, command: Command, words: list[str], env: dict[str, str]) -> bool:
        port = _free_port()
        argv = [sys.executable, "-m", "seclo", *words[1:], "--port", str(port)]
        server = subprocess.Popen(
            argv, cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        if "SECLO_SERVE_TOKEN" in env:
            request.add_header("Authorization", f"Bearer {env['SECLO_SERVE_TOKEN']}")
        status, end = 0, time.monotonic() + 120  # a hang guard, not a performance check
        try:
            while status != 200 and server.poll() is None and time.monotonic() < end:
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                        status = answer.status
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.05)
        finally:
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate()
        if status != 200 or server.returncode != 0:
            text = output.decode(errors="replace")[-2000:]
            self.failures.append(f"{command.where}: /metrics {status}, exit {server.returncode}\n{text}")
            return False
        return True

    def close(self) -> None:
        """Stop background jobs a document left running (it should have stopped them itself)."""
        for job in self.jobs:
            if job.poll() is None:
                job.terminate()
                job.wait()
                self.failures.append(f"a background job ({job.args!r}) was not stopped by the document")


@pytest.fixture
def shell(generated_workspace: Path, tmp_path: Path) -> Iterator[Shell]:
    """A shell in a copy of the session workspace, with findings.csv beside it."""
    placeholders = {**PLACEHOLDERS, "findings.csv": str(_findings_csv(tmp_path))}
    workspace = tmp_path / "workspace"
    shutil.copytree(generated_workspace, workspace)
    running = Shell(workspace, _seclo_env(), placeholders)
    yield running
    running.close()


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_documented_command_runs(document: str, shell: Shell) -> None:
    """Each command of the document's ```sh blocks exits as documented in a workspace with generated data."""
    commands = documented_commands(document)
    assert commands, f"{document} has no ```sh block"
    for command in commands:
        if command.words[:3] == ("seclo", "init", "my-seclo"):
            # The README starts a new workspace: it is the session's (already holding the generated data).
            shutil.copytree(shell.cwd, shell.cwd.parent / "my-seclo")
            shell.cwd = shell.cwd.parent
        shell.run(command)
    shell.close()
    assert shell.failures == [], "\n\n".join(shell.failures)


def test_sh_blocks_are_read_command_by_command() -> None:
    """The reader takes each line of a ```sh block without its comment, and nothing outside such blocks."""
    readme = documented_commands("README.md")
    first = next(c for c in readme if c.words[0] == "seclo")
    assert first.words == ("seclo", "init", "my-seclo", "&&", "cd", "my-seclo")
    assert all("#" not in w for c in readme for w in c.words)
    assert not any(c.words[:1] == ("promtool",) for c in readme)
    assert ("seclo", "serve") in {c.words for c in readme}

"""Real ``askdocs run`` processes for the end-to-end tests: started against a FakeDiscord
through ``fakediscord.launch``, their stderr kept in a log file, stopped or killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from bot_fixtures import TIMEOUT
from fakediscord import FakeDiscord
from fakediscord.launch import STALL_ENV

REPO = Path(__file__).resolve().parent.parent


@dataclass
class BotProcess:
    shard_id: int
    proc: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.proc.returncode is not None:
            raise AssertionError(
                f"shard {self.shard_id} exited with {self.proc.returncode}:\n{self.tail()}"
            )

    async def stop(self) -> int:
        """SIGTERM, then wait; killed (and reported) if it does not stop in time."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), TIMEOUT)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError(
                    f"shard {self.shard_id} ignored SIGTERM:\n{self.tail()}"
                ) from None
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()


def base_env() -> dict[str, str]:
    """The environment without inherited ASKDOCS_* settings (nor the test-only stall hook),
    with the repo and tests/ on PYTHONPATH (``fakediscord.launch`` lives in tests/)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASKDOCS_", STALL_ENV))}
    paths = [str(REPO), str(REPO / "tests"), *filter(None, [env.get("PYTHONPATH")])]
    env.update(PYTHONPATH=os.pathsep.join(paths), HF_HUB_OFFLINE="1")
    return env


async def start_bot_process(
    fake: FakeDiscord, shard_id: int, cwd: Path, env: dict[str, str], log: Path
) -> BotProcess:
    """``askdocs run`` against ``fake`` in ``cwd`` (so no .env from the repository), its
    stderr appended to ``log``."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "fakediscord.launch",
            fake.base_url,
            "run",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )
    return BotProcess(shard_id, proc, log)

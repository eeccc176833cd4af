"""``DemoStack``: the simulated Academy stack, started in the running event loop.

    async with DemoStack(speed=20) as stack:
        profile = stack.profile      # profiles/demo.toml pointed at the running stack
        stack.sim                    # the simulation, for inspection

Everything lives in a temporary directory (keys, known_hosts, ssh config, a copy
of the profile, the demo's announcements and email outbox) removed by
:meth:`stop`; nothing else is written (cockpit's own journal aside). Deterministic for a given ``seed``; ``clock`` is injectable (a frozen
clock freezes the simulation: snapshot tests).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from types import MappingProxyType, TracebackType

from cockpit.demo.alerts import DemoAlertmanager
from cockpit.demo.http import HttpServer
from cockpit.demo.prom import BlueStack, PrometheusApi
from cockpit.demo.sim import HOSTS, AcademySim, Clock
from cockpit.demo.sshd import DemoSshd
from cockpit.profile.model import Profile


class DemoStack:
    """The simulation, its SSH hosts and its HTTP endpoints; :meth:`start` returns the ready profile."""

    def __init__(self, speed: float = 1.0, seed: int = 7, *, clock: Clock = time.time) -> None:
        self.speed = speed
        self.seed = seed
        self.sim = AcademySim(speed=speed, seed=seed, clock=clock)
        self.workdir: Path | None = None
        self.sshd: DemoSshd | None = None
        self.prometheus: HttpServer | None = None
        self.blue: HttpServer | None = None
        self.alertmanager: HttpServer | None = None
        self._profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            raise RuntimeError("DemoStack is not started")
        return self._profile

    async def start(self) -> Profile:
        from cockpit.profile.load import load_profile
        from cockpit.profile.locate import locate_profile

        base = load_profile(locate_profile("demo"))
        self.workdir = Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
        try:
            (self.workdir / "outbox").mkdir()
            self.sshd = DemoSshd(self.sim, HOSTS, self.workdir, user=base.ssh.user or "deploy")
            await self.sshd.start()
            self.prometheus = HttpServer(PrometheusApi(self.sim))
            await self.prometheus.start()
            self.blue = HttpServer(BlueStack(self.sim))
            await self.blue.start()
            self.alertmanager = HttpServer(DemoAlertmanager(self.sim))
            await self.alertmanager.start()
        except BaseException:
            await self.stop()
            raise
        self._profile = self._point(base)
        return self._profile

    def _point(self, base: Profile) -> Profile:
        """The bundled demo profile with every address, key and path of this running stack."""
        assert self.sshd is not None and self.prometheus is not None and self.blue is not None
        assert self.alertmanager is not None
        assert self.workdir is not None
        ssh = dataclasses.replace(
            base.ssh,
            known_hosts=str(self.sshd.known_hosts_path),
            config=str(self.sshd.config_path),
            client_keys=(str(self.sshd.client_key_path),),
        )
        urls = {"prom": self.prometheus.url, "blue": f"{self.blue.url}/healthz",   # profiles/demo.toml's sources
                "alertmanager": self.alertmanager.url}
        sources = {
            sid: dataclasses.replace(src, url=urls[sid]) if sid in urls else src
            for sid, src in base.sources.items()
        }
        vars_ = {**base.vars, "demo_out": str(self.workdir)}
        # The profile file is copied into the temp dir and the profile points at the copy. The lock
        # and the journal are keyed by name + environment: a second `cockpit demo` follows this one
        # (pair rollback); the demo's controller is `fresh` (a new journal each run: a new simulation).
        copy = self.workdir / Path(base.path).name
        shutil.copyfile(base.path, copy)
        origin = Path(base.path).resolve().parent
        steps = tuple(
            dataclasses.replace(
                s,
                email=dataclasses.replace(
                    s.email,
                    outbox=str(self.workdir / "outbox") + "/",
                    template=str(origin / s.email.template),
                ),
            )
            if s.email is not None
            else s
            for s in base.steps
        )
        return dataclasses.replace(
            base,
            path=str(copy),
            ssh=ssh,
            sources=MappingProxyType(sources),
            vars=MappingProxyType(vars_),
            steps=steps,
        )

    async def stop(self) -> None:
        for server in (self.alertmanager, self.blue, self.prometheus):
            if server is not None:
                await server.stop()
        if self.sshd is not None:
            await self.sshd.stop()
        self.blue = self.prometheus = self.alertmanager = None
        self.sshd = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    async def __aenter__(self) -> DemoStack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

"""Fixtures for the step executors: a profile directory, incident facts, HTTP and SMTP receivers."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.profile.model import CockpitSettings, Profile, SshSettings, StepSpec
from cockpit.steps.context import IncidentFacts, StepContext
from tests.steps.receiver import Receiver, start_receiver, stop_receiver
from tests.steps.smtp import Mailbox, free_port, start_smtp, write_self_signed

STARTED = 1_700_000_000.0
ENDED = 1_700_000_600.0

FACTS = IncidentFacts(
    profile="academy-drill",
    environment="drill",
    driver="alice",
    rollback_started=STARTED,
    rollback_ended=ENDED,
    rto_budget=900.0,
    rto_elapsed=600.0,
    steps_done=("horizon-pause", "fpm-reload"),
    checks=("queues ok", "5xx ok"),
)


def make_ctx(
    directory: Path,
    *steps: StepSpec,
    vars: dict[str, str] | None = None,
    note: str | None = None,
    journal_path: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> StepContext:
    profile = Profile(
        path=str(directory / "profile.toml"),
        cockpit=CockpitSettings(name="academy-drill", environment="drill"),
        ssh=SshSettings(),
        hosts={},
        vars=vars or {},
        sources={},
        signals=(),
        checks=(),
        steps=steps,
    )
    extra: dict[str, Any] = {"redact": redact} if redact else {}
    return StepContext(profile=profile, facts=FACTS, journal_path=journal_path, note=note, **extra)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    stop_receiver(rec)


@pytest.fixture
def https_receiver(smtp_cert: tuple[Path, Path]) -> Iterator[Receiver]:
    """HTTPS with the throwaway certificate (valid for localhost and 127.0.0.1)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*smtp_cert)
    rec = start_receiver(ctx)
    yield rec
    stop_receiver(rec)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused."""
    return free_port()


@pytest.fixture(scope="session")
def smtp_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_tls(smtp_cert: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    """STARTTLS required, AUTH required (only after TLS)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*smtp_cert)
    box = Mailbox()
    controller = start_smtp(box, ctx)
    yield box, controller.port
    controller.stop()


@pytest.fixture
def smtp_plain() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = start_smtp(box, None)
    yield box, controller.port
    controller.stop()

"""The two-person rule: a step with ``approve = true`` runs only after another Unix user approves it.

The driver journals an ``approval_requested`` entry: a request ``id``, the step, the
command after substitution, the hosts, the preview, who asks, and ``digest``
(sha256 of step + command + hosts: exactly what will run) and ``expires``. An
approver (an observer of another Unix user, or ``cockpit approve STEP`` from their
shell) reads the request from the journal, checks it against their own copy of the
profile, types the environment, and writes an answer file in the shared state
directory's ``approvals/``: ``<key>-<request id>-<uid>.json`` with the digest they
approved, their decision (``approve`` / ``refuse`` and a reason), and where from.

The driver trusts nothing the answer says about who wrote it: the approver is the
file's owner (``fstat``, opened ``O_NOFOLLOW``). It accepts an answer only when that
owner is not the driver's own user (self-approval is refused), the digest is the
one of what is about to run, and the request has not expired; then it journals
``approval_granted`` (or ``approval_refused``), with who, when and from where, and
fires. Answers that do not qualify are journalled as ``approval_rejected`` with
why, and the driver keeps waiting until the request expires (``approval_expired``).
A new firing is a new request: an approval never carries over.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.profile.model import Profile
from cockpit.state import StateDir, StateError, profile_key, user_name, whoami

APPROVAL_TYPES = ("approval_requested", "approval_granted", "approval_refused", "approval_rejected",
                  "approval_expired", "approval_cancelled")
_CLOSING = frozenset({"approval_granted", "approval_refused", "approval_expired", "approval_cancelled"})


def digest(step_id: str, command: str | None, hosts: Sequence[str]) -> str:
    """What an approval is bound to: the step, the command after substitution, the hosts."""
    raw = json.dumps({"step": step_id, "command": command, "hosts": sorted(hosts)}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Request:
    id: str
    step: str
    command: str | None
    hosts: tuple[str, ...]
    digest: str
    preview: str
    by: str
    uid: int
    ts: float
    expires: float

    def fields(self) -> dict[str, Any]:
        return {"request": self.id, "step": self.step, "command": self.command, "hosts": list(self.hosts),
                "digest": self.digest, "preview": self.preview, "by": self.by, "uid": self.uid,
                "expires": self.expires}

    @classmethod
    def from_entry(cls, e: dict[str, Any]) -> Request | None:
        try:
            return cls(str(e["request"]), str(e["step"]), e.get("command") if isinstance(e.get("command"), str)
                       else None, tuple(str(h) for h in e.get("hosts") or ()), str(e["digest"]),
                       str(e.get("preview") or ""), str(e.get("by") or "?"), int(e["uid"]), float(e["ts"]),
                       float(e["expires"]))
        except (KeyError, TypeError, ValueError):
            return None


def new_request(step_id: str, command: str | None, hosts: Sequence[str], *, preview: str, by: str,
                now: float, ttl: float) -> Request:
    return Request(secrets.token_hex(8), step_id, command, tuple(hosts), digest(step_id, command, hosts),
                   preview, by, os.geteuid(), now, now + ttl)


def pending(entries: Iterable[dict[str, Any]], now: float | None = None) -> list[Request]:
    """Requests of the journal not answered, expired or cancelled yet (and, given ``now``, not past expiry)."""
    open_: dict[str, Request] = {}
    for e in entries:
        t = e.get("type")
        if t == "approval_requested":
            r = Request.from_entry(e)
            if r is not None:
                open_[r.id] = r
        elif t in _CLOSING:
            open_.pop(str(e.get("request")), None)
    return [r for r in open_.values() if now is None or now <= r.expires]


@dataclass(frozen=True)
class Answer:
    path: Path
    request: str
    digest: str
    decision: str          # approve | refuse
    reason: str
    uid: int               # the answer file's owner: who approved, as the kernel says
    user: str
    host: str
    pid: int
    ts: float


def answer_path(state: StateDir, profile: Profile, request_id: str, uid: int | None = None) -> Path:
    uid = os.geteuid() if uid is None else uid
    return state.approvals / f"{profile_key(profile)}-{request_id}-{uid}.json"


class ApprovalError(Exception):
    """An approval that cannot be given (self-approval, expired, another command or host set)."""


def write_answer(state: StateDir, profile: Profile, request: Request, *, approve: bool, reason: str = "",
                 now: float | None = None, bound_digest: str | None = None) -> Path:
    """The approver's answer (raises `ApprovalError` for self-approval or an expired request)."""
    now = time.time() if now is None else now
    if request.uid == os.geteuid():
        raise ApprovalError(f"self-approval refused: you ({user_name(os.geteuid())}) asked for this approval; "
                            "a second person (another Unix user) must approve")
    if now > request.expires:
        raise ApprovalError(f"the request expired at {_hms(request.expires)}: the driver must fire the step again")
    user, host = whoami()
    data = {"request": request.id, "digest": bound_digest or request.digest,
            "decision": "approve" if approve else "refuse", "reason": reason, "user": user, "host": host,
            "pid": os.getpid(), "ts": now}
    path = answer_path(state, profile, request.id)
    state.write_atomic(path, json.dumps(data).encode())
    return path


def read_answers(state: StateDir, profile: Profile, request: Request) -> list[Answer | str]:
    """Answers to ``request`` (or, for a file that cannot be trusted or parsed, why)."""
    out: list[Answer | str] = []
    for path in sorted(state.approvals.glob(f"{profile_key(profile)}-{request.id}-*.json")):
        try:
            fd = state.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        except StateError as e:
            out.append(f"{path.name}: {e}")
            continue
        try:
            owner = os.fstat(fd).st_uid
            raw = os.read(fd, 65536)
        finally:
            os.close(fd)
        try:
            d = json.loads(raw)
            out.append(Answer(path, str(d["request"]), str(d["digest"]), str(d["decision"]),
                              str(d.get("reason") or ""), owner, user_name(owner), str(d.get("host") or "?"),
                              int(d.get("pid") or 0), float(d["ts"])))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            out.append(f"{path.name}: not an approval answer")
    return out


def judge(answer: Answer, request: Request, running_digest: str, driver_uid: int, now: float) -> str | None:
    """Why ``answer`` does not count (None: it counts, whatever its decision)."""
    if answer.uid == driver_uid:
        return f"self-approval refused: {answer.user} is the driver's own user"
    if answer.request != request.id:
        return f"{answer.user} answered another request"
    if answer.digest != request.digest or request.digest != running_digest:
        return (f"{answer.user}'s approval is for another command or host set than "
                f"`{request.command}` on {', '.join(request.hosts) or 'this machine'}")
    if answer.ts > request.expires or now > request.expires:
        return f"{answer.user}'s answer came after the request expired ({_hms(request.expires)})"
    if answer.decision not in ("approve", "refuse"):
        return f"{answer.user}'s answer says {answer.decision!r}"
    return None


def check_answerable(profile: Profile, req: Request, *, confirmation: str | None, approve: bool,
                     reason: str) -> None:
    """The approver's side: refuse (`ApprovalError`) a wrong typed name, a refusal without reason, or a
    request whose command or hosts are not what THIS copy of the profile says the step runs."""
    env = profile.cockpit.environment
    if approve and confirmation != env:
        raise ApprovalError(f"type the environment name ({env}) to approve")
    if not approve and not reason.strip():
        raise ApprovalError("a refusal needs a reason")
    step = profile.step(req.step)
    mine = profile.expand(step.command) if step.command else None
    if mine != req.command:
        raise ApprovalError(f"the driver asks to run `{req.command}` but this profile's {req.step} runs "
                            f"`{mine}`: not approving a command you were not shown")
    group = set(profile.hosts.get(step.hosts or "", ()))
    strangers = [h for h in req.hosts if h not in group]
    if strangers:
        raise ApprovalError(f"{', '.join(strangers)} not in host group {step.hosts!r} of this profile")


async def wait_for_answer(state: StateDir, profile: Profile, req: Request, running_digest: str, *,
                          append: Callable[..., object], now: Callable[[], float], cancel: asyncio.Event,
                          driver: str, poll: float = 0.2) -> str | None:
    """The driver's side: poll the answers until one counts, the request expires or the wait is cancelled.

    Journals (through ``append``) every answer that does not count (once), and the outcome.
    Returns None when approved, else why the step must not run.
    """
    from cockpit.durations import format_duration

    seen: set[tuple[str, float]] = set()
    while True:
        t = now()
        for ans in read_answers(state, profile, req):
            if isinstance(ans, str):
                if (ans, 0.0) not in seen:
                    seen.add((ans, 0.0))
                    append("approval_rejected", request=req.id, step=req.step, reason=ans)
                continue
            why = judge(ans, req, running_digest, os.geteuid(), t)
            if why is not None:
                if (ans.path.name, ans.ts) not in seen:
                    seen.add((ans.path.name, ans.ts))
                    append("approval_rejected", request=req.id, step=req.step, by=f"{ans.user}@{ans.host}",
                           uid=ans.uid, reason=why)
                continue
            who = f"{ans.user}@{ans.host}"
            common = {"request": req.id, "step": req.step, "by": who, "uid": ans.uid, "pid": ans.pid,
                      "answered": ans.ts, "requested_by": req.by}
            if ans.decision == "approve":
                append("approval_granted", **common, digest=req.digest, command=req.command, hosts=list(req.hosts))
                return None
            append("approval_refused", **common, reason=ans.reason)
            return f"approval refused by {who}: {ans.reason or 'no reason given'}"
        if t > req.expires:
            append("approval_expired", request=req.id, step=req.step)
            return (f"no approval within {format_duration(req.expires - req.ts)}: the request expired "
                    "(fire the step again for a new request)")
        if cancel.is_set():
            append("approval_cancelled", request=req.id, step=req.step, by=driver)
            return "the wait for approval was cancelled"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel.wait(), poll)


def _hms(ts: float) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(ts))
    except (ValueError, OverflowError, OSError):
        return "?"

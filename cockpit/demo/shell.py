"""What a demo host's shell does with a command line.

A command line becomes a script (`cockpit.demo.script`). Effects on the simulation happen
in the script at the moment the real command would cause them, so a command
cancelled half-way leaves half of its effects, as on a real host.

Only what a POSIX shell needs for the runbook is understood: ``&&``, ``||``,
``;``, ``|``, ``cd``, ``sudo``, ``2>&1``, and the small tools the profiles use
(``sed``, ``grep``, ``ls``, ``ps``, ``sort``, ``uniq``, ``awk``, ``systemctl`` ...);
any other command answers ``command not found`` with exit status 127.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Generator
from dataclasses import dataclass, field

from cockpit.demo import artisan
from cockpit.demo.script import Action, Out, Script, Wait
from cockpit.demo.sim import APP_DIR, WORKERS_PER_HOST, AcademySim

HOME = "/home/deploy"
FPM_UNITS = {"php-fpm", "php8.2-fpm", "php-fpm.service", "php8.2-fpm.service"}
_CONNECTORS = {"&&", "||", ";"}


@dataclass
class Shell:
    """One command line's shell: its working directory and whether stderr goes to stdout."""

    sim: AcademySim
    host: str
    cwd: str = HOME
    merge_stderr: bool = False
    sudo: bool = False
    stdin: list[str] | None = field(default=None)
    command: str = ""  # the whole command line (``bash -c`` shows it in ps)
    pipeline: list[list[str]] = field(default_factory=list)  # the stages running right now

    def path(self, name: str) -> str:
        if name.startswith("/"):
            return _normalise(name)
        if name.startswith("~"):
            return _normalise(HOME + name[1:])
        return _normalise(f"{self.cwd}/{name}")


def _normalise(path: str) -> str:
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
        else:
            parts.append(p)
    return "/" + "/".join(parts)


def run_command(sim: AcademySim, host: str, command: str) -> Script:
    """The script for ``command`` as run by ``host``'s login shell."""
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError as e:
        yield Out(f"bash: -c: line 1: syntax error: {e}", stderr=True)
        return 2
    sh = Shell(sim, host, command=command)
    status = 0
    connector = ";"
    pipeline: list[list[str]] = [[]]
    for tok in [*tokens, ";"]:
        if tok == "|":
            if not pipeline[-1]:
                yield Out("bash: -c: line 1: syntax error near unexpected token `|'", stderr=True)
                return 2
            pipeline.append([])
            continue
        if tok not in _CONNECTORS:
            pipeline[-1].append(tok)
            continue
        if pipeline[-1]:
            if connector == ";" or (connector == "&&") == (status == 0):
                status = yield from _pipeline(sh, pipeline)
            pipeline = [[]]
        elif tok != ";" or connector != ";" or len(pipeline) > 1:
            yield Out(f"bash: -c: line 1: syntax error near unexpected token `{tok}'", stderr=True)
            return 2
        connector = tok
    return status


def _pipeline(sh: Shell, stages: list[list[str]]) -> Script:
    """``a | b | c``: each stage reads the previous one's stdout; the status is the last one's."""
    stdin: list[str] | None = None
    status = 0
    sh.pipeline = stages
    for i, words in enumerate(stages):
        sh.stdin = stdin
        if i == len(stages) - 1:
            status = yield from _simple(sh, words)
        else:
            status, stdin = yield from _capture(_simple(sh, words))
    sh.stdin = None
    return status


def _capture(script: Script) -> Generator[Action, None, tuple[int, list[str]]]:
    """Run ``script``, keeping its stdout; waits and stderr pass through."""
    lines: list[str] = []
    try:
        action = next(script)
        while True:
            sent: str | None = None
            if isinstance(action, Out) and not action.stderr:
                lines.append(action.text)
            else:
                sent = yield action
            action = script.send(sent)
    except StopIteration as stop:
        return int(stop.value or 0), lines


def _merged(script: Script) -> Script:
    """``2>&1``: stderr lines become stdout lines."""
    try:
        action = next(script)
        while True:
            sent = yield Out(action.text) if isinstance(action, Out) else action
            action = script.send(sent)
    except StopIteration as stop:
        return int(stop.value or 0)


def _simple(sh: Shell, words: list[str]) -> Script:
    """One simple command (redirections handled, then dispatched by name)."""
    words, problem = _redirections(sh, words)
    if problem:
        yield Out(problem, stderr=True)
        return 2
    sh.sudo = False
    while words and words[0] == "sudo":
        sh.sudo = True
        words = words[1:]
        while words and words[0].startswith("-"):
            flag = words.pop(0)
            if flag in ("-u", "-g") and words:
                words.pop(0)
    if not words:
        return 0
    name, args = words[0], words[1:]
    handler = _BUILTINS.get(name)
    if handler is None and name.rsplit("/", 1)[-1] in ("php", "php8.2"):
        handler = _php
    if handler is None and name.endswith("compatibility_audit.sh"):
        handler = _audit
    if handler is None and name in ("bash", "sh") and args and args[0].endswith("compatibility_audit.sh"):
        handler, name, args = _audit, args[0], args[1:]
    if handler is None:
        yield Out(f"bash: line 1: {name}: command not found", stderr=True)
        return 127
    script = handler(sh, name, args)
    status = yield from (_merged(script) if sh.merge_stderr else script)
    return status


def _redirections(sh: Shell, words: list[str]) -> tuple[list[str], str | None]:
    out: list[str] = []
    i = 0
    sh.merge_stderr = False
    while i < len(words):
        w = words[i]
        if w in (">", ">>", "<", ">&", "&>") or w.endswith((">", ">&")):
            target = words[i + 1] if i + 1 < len(words) else None
            if target is None:
                return out, "bash: -c: line 1: syntax error near unexpected token `newline'"
            if out and out[-1] == "2" and w == ">&" and target == "1":
                out.pop()
                sh.merge_stderr = True
            elif out and out[-1] == "2" and w == ">" and target == "/dev/null":
                out.pop()
            elif target != "/dev/null":
                return out, "bash: demo host: redirecting into files is not simulated"
            i += 2
            continue
        out.append(w)
        i += 1
    return out, None


# ---------------------------------------------------------------- builtins and small tools


def _cd(sh: Shell, _name: str, args: list[str]) -> Script:
    target = sh.path(args[0]) if args else HOME
    if not _is_dir(target):
        yield Out(f"bash: line 1: cd: {args[0]}: No such file or directory", stderr=True)
        return 1
    sh.cwd = target
    return 0


def _is_dir(path: str) -> bool:
    known = {HOME, "/", "/tmp", "/var", "/var/www", "/var/www/academy", APP_DIR}
    return path in known or path.startswith(APP_DIR + "/database") or path.startswith(APP_DIR + "/tools")


def _echo(_sh: Shell, _name: str, args: list[str]) -> Script:
    if args[:1] == ["-n"]:
        args = args[1:]
    yield Out(" ".join(args))
    return 0


def _true(_sh: Shell, name: str, _args: list[str]) -> Script:
    return 0 if name == "true" else 1
    yield  # pragma: no cover - makes this a generator


def _hostname(sh: Shell, _name: str, _args: list[str]) -> Script:
    yield Out(sh.host)
    return 0


def _whoami(sh: Shell, _name: str, _args: list[str]) -> Script:
    yield Out("root" if sh.sudo else "deploy")
    return 0


def _pwd(sh: Shell, _name: str, _args: list[str]) -> Script:
    yield Out(sh.cwd)
    return 0


def _read_file(sh: Shell, tool: str, name: str) -> tuple[str | None, str]:
    path = sh.path(name)
    text = sh.sim.hosts[sh.host].files.get(path)
    return text, f"{tool}: {name}: No such file or directory"


def _input(sh: Shell, tool: str, files: list[str]) -> tuple[list[str] | None, str]:
    """Lines of the named file, or of stdin when no file is named."""
    if not files:
        return list(sh.stdin or []), ""
    text, missing = _read_file(sh, tool, files[0])
    return (text.splitlines() if text is not None else None), missing


def _split_flags(args: list[str]) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    rest: list[str] = []
    for a in args:
        if a.startswith("-") and len(a) > 1 and not rest:
            flags.update(f"-{c}" for c in a[1:]) if not a.startswith("--") else flags.add(a)
        else:
            rest.append(a)
    return flags, rest


def _cat(sh: Shell, name: str, args: list[str]) -> Script:
    status = 0
    for a in args or [None]:  # type: ignore[list-item]  # None: no file, read stdin
        lines, missing = _input(sh, name, [a] if a else [])
        if lines is None:
            yield Out(missing, stderr=True)
            status = 1
            continue
        for line in lines:
            yield Out(line)
    return status


def bre_to_python(pattern: str) -> str:
    """A POSIX basic regular expression (GNU flavour) as a Python one."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            out.append(n if n in "(){}+?|" else "\\" + n)
            i += 2
            continue
        out.append("\\" + c if c in "(){}+?|" else c)
        i += 1
    return "".join(out)


def _grep(sh: Shell, name: str, args: list[str]) -> Script:
    flags, rest = _split_flags(args)
    if not rest:
        yield Out("Usage: grep [OPTION]... PATTERNS [FILE]...", stderr=True)
        return 2
    extended = "-E" in flags or name == "egrep"
    try:
        pattern = re.compile(
            rest[0] if extended else bre_to_python(rest[0]), re.IGNORECASE if "-i" in flags else 0
        )
    except re.error:
        yield Out("grep: Unmatched ( or \\(", stderr=True)
        return 2
    lines, missing = _input(sh, name, rest[1:2])
    if lines is None:
        yield Out(missing, stderr=True)
        return 2
    match = pattern.fullmatch if "-x" in flags else pattern.search
    hits = [ln for ln in lines if bool(match(ln)) != ("-v" in flags)]
    if "-c" in flags:
        yield Out(str(len(hits)))
    elif "-q" not in flags:
        for ln in hits:
            yield Out(ln)
    return 0 if hits else 1


def _sed(sh: Shell, name: str, args: list[str]) -> Script:
    flags, rest = _split_flags(args)
    in_place = any(f.startswith("-i") for f in flags)
    if not rest or len(rest) > 2 or (in_place and len(rest) != 2):
        yield Out("sed: demo host: only `sed [-n] [-i] 's/FROM/TO/[gp]' [FILE]` is simulated", stderr=True)
        return 1
    script = rest[0]
    m = re.fullmatch(r"s(.)(.*?)(?<!\\)\1(.*?)(?<!\\)\1([gp]*)", script, re.DOTALL)
    if not m:
        yield Out(f"sed: -e expression #1, char {len(script)}: unterminated `s' command", stderr=True)
        return 1
    _, pattern, repl, opts = m.groups()
    try:
        rx = re.compile(pattern if {"-E", "-r"} & flags else bre_to_python(pattern))
    except re.error as e:
        yield Out(f"sed: -e expression #1, char {len(script)}: {e}", stderr=True)
        return 1
    repl = re.sub(r"(?<!\\)&", r"\\g<0>", repl).replace("\\&", "&")
    lines, missing = _input(sh, name, rest[1:])
    if lines is None:
        yield Out(missing.replace(f"{name}: {rest[1]}:", f"{name}: can't read {rest[1]}:"), stderr=True)
        return 2
    out: list[str] = []
    for ln in lines:
        new, n = rx.subn(repl, ln, count=0 if "g" in opts else 1)
        if "-n" not in flags:
            out.append(new)
        if n and "p" in opts:
            out.append(new)
    if in_place:
        sh.sim.hosts[sh.host].files[sh.path(rest[1])] = "\n".join(out) + "\n"
        sh.sim.note(f"{sh.host}: edited {sh.path(rest[1])}")
        return 0
    for ln in out:
        yield Out(ln)
    return 0


def _ls(sh: Shell, name: str, args: list[str]) -> Script:
    _flags, rest = _split_flags(args)
    files = sh.sim.hosts[sh.host].files
    status = 0
    for a in rest or ["."]:
        path = sh.path(a)
        hits = sorted(f for f in files if fnmatch.fnmatchcase(f, path)) if any(c in a for c in "*?[") else []
        if not hits and path in files:
            hits = [path]
        if not hits and not any(c in a for c in "*?[") and _is_dir(path):
            for f in sorted(files):
                if f.startswith(path.rstrip("/") + "/"):
                    yield Out(f[len(path.rstrip("/")) + 1 :].split("/", 1)[0])
            continue
        if not hits:
            yield Out(f"ls: cannot access '{a}': No such file or directory", stderr=True)
            status = 2
        for h in hits:
            yield Out(h if a.startswith("/") or a.startswith("~") else a if "*" not in a else h)
    return status


def processes(sim: AcademySim, host: str) -> list[str]:
    """``ps -eo args`` of a demo host."""
    h = sim.hosts[host]
    out = ["/sbin/init", "/usr/sbin/sshd -D", "/usr/sbin/cron -f"]
    if h.fpm_octane_flag is not None:
        out += ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"] + ["php-fpm: pool www"] * 4
    if h.octane_running:
        out += [
            f"php {APP_DIR}/artisan octane:start --server=swoole --host=127.0.0.1 --port=8000 --workers=8"
        ]
        out += ["swoole_http_server: master", "swoole_http_server: manager"] + [
            "swoole_http_server: worker"
        ] * 8
    if h.horizon != "inactive":
        out.append(f"php {APP_DIR}/artisan horizon")
        for i, (queue, procs) in enumerate(WORKERS_PER_HOST.items(), start=1):
            sup = f"{host}-{h.horizon_pid or 0:x}:supervisor-{i}"
            out.append(
                f"php {APP_DIR}/artisan horizon:supervisor {sup} redis --workers-name=default "
                f"--balance=auto --max-processes={procs} --min-processes=1 --queue={queue}"
            )
            out += [
                f"php {APP_DIR}/artisan horizon:work redis --name=default --supervisor={sup} --backoff=0 "
                f"--max-time=0 --max-jobs=0 --memory=128 --queue={queue} --sleep=3 --timeout=60 --tries=3"
            ] * procs
    return out


def _ps(sh: Shell, name: str, args: list[str]) -> Script:
    """The host's processes, and this command line's own: ``bash -c ...`` and every pipeline stage,
    as on a real host (hence the ``[h]orizon`` idiom, so a pattern does not match its own sed)."""
    yield Wait(0.02)
    if args and "args" in args[-1]:
        yield Out("COMMAND")
    for line in processes(sh.sim, sh.host):
        yield Out(line)
    yield Out(f"bash -c {sh.command}")
    for stage in sh.pipeline:
        yield Out(" ".join(stage))
    return 0


def _sort(sh: Shell, name: str, args: list[str]) -> Script:
    flags, rest = _split_flags(args)
    lines, missing = _input(sh, name, rest)
    if lines is None:
        yield Out(missing, stderr=True)
        return 2

    def key(ln: str) -> tuple[float, str]:
        m = re.match(r"\s*(-?\d+(?:\.\d+)?)", ln)
        return (float(m.group(1)) if m else 0.0, ln)

    for ln in sorted(lines, key=key if "-n" in flags else None, reverse="-r" in flags):
        yield Out(ln)
    return 0


def _uniq(sh: Shell, name: str, args: list[str]) -> Script:
    flags, rest = _split_flags(args)
    lines, missing = _input(sh, name, rest)
    if lines is None:
        yield Out(missing, stderr=True)
        return 2
    runs: list[tuple[str, int]] = []
    for ln in lines:
        if runs and runs[-1][0] == ln:
            runs[-1] = (ln, runs[-1][1] + 1)
        else:
            runs.append((ln, 1))
    for ln, n in runs:
        yield Out(f"{n:>7} {ln}" if "-c" in flags else ln)
    return 0


def _awk(sh: Shell, name: str, args: list[str]) -> Script:
    _flags, rest = _split_flags(args)
    m = re.fullmatch(r"\s*\{\s*print\s+(.*?)\s*;?\s*\}\s*", rest[0]) if rest else None
    if not m:
        yield Out("awk: demo host: only `awk '{print $N, ...}'` is simulated", stderr=True)
        return 2
    parts = [p.strip() for p in m.group(1).split(",")]
    if not all(re.fullmatch(r"\$\d+", p) for p in parts):
        yield Out("awk: demo host: only `print $N` fields are simulated", stderr=True)
        return 2
    lines, _missing = _input(sh, name, rest[1:])
    if lines is None:
        yield Out(f'awk: cannot open "{rest[1]}" (No such file or directory)', stderr=True)
        return 2
    for ln in lines:
        fields = ln.split()
        values = [
            ln if p == "$0" else (fields[int(p[1:]) - 1] if int(p[1:]) <= len(fields) else "") for p in parts
        ]
        yield Out(" ".join(values))
    return 0


def _head(sh: Shell, name: str, args: list[str]) -> Script:
    count = 10
    files: list[str] = []
    it = iter(args)
    for a in it:
        if a == "-n":
            count = int(next(it, "10"))
        elif re.fullmatch(r"-n?\d+", a):
            count = int(a.lstrip("-n"))
        else:
            files.append(a)
    lines, _missing = _input(sh, name, files)
    if lines is None:
        yield Out(f"{name}: cannot open '{files[0]}' for reading: No such file or directory", stderr=True)
        return 1
    for ln in lines[:count] if name == "head" else lines[-count:]:
        yield Out(ln)
    return 0


def _wc(sh: Shell, name: str, args: list[str]) -> Script:
    _flags, rest = _split_flags(args)
    lines, missing = _input(sh, name, rest)
    if lines is None:
        yield Out(missing, stderr=True)
        return 1
    yield Out(str(len(lines)))
    return 0


def _systemctl(sh: Shell, name: str, args: list[str]) -> Script:
    verbs = [a for a in args if not a.startswith("-")]
    if len(verbs) != 2:
        yield Out("Too few arguments." if len(verbs) < 2 else "demo host: one unit at a time", stderr=True)
        return 1
    verb, unit = verbs
    full = unit if "." in unit else f"{unit}.service"
    host = sh.sim.hosts[sh.host]
    if unit not in FPM_UNITS or host.fpm_octane_flag is None:
        if verb in ("is-active",):
            yield Out("inactive")
            return 3
        yield Out(f"Failed to {verb} {full}: Unit {full} not found.", stderr=True)
        return 5
    if verb in ("is-active",):
        yield Out("active")
        return 0
    if verb == "status":
        yield Out(f"● {full} - The PHP 8.2 FastCGI Process Manager")
        yield Out(f"     Loaded: loaded (/lib/systemd/system/{full}; enabled; preset: enabled)")
        yield Out("     Active: active (running)")
        yield Out(f"   Main PID: {host.fpm_pid} (php-fpm8.2)")
        yield Out('     Status: "Processes active: 4, idle: 12, Requests: 48211, slow: 37"')
        return 0
    if verb not in ("reload", "restart"):
        yield Out(f"demo host: systemctl {verb} is not simulated", stderr=True)
        return 1
    if not sh.sudo:
        yield Out(f"Failed to {verb} {full}: Interactive authentication required.", stderr=True)
        yield Out(f"See system logs and 'systemctl status {full}' for details.", stderr=True)
        return 1
    yield Wait(1.2 if verb == "reload" else 2.5)
    sh.sim.fpm_reload(sh.host)
    return 0


def _redis_cli(sh: Shell, name: str, args: list[str]) -> Script:
    words: list[str] = []
    it = iter(args)
    for a in it:
        if a in ("-h", "-p", "-n", "-a"):
            next(it, None)
        elif not a.startswith("-"):
            words.append(a)
    if len(words) != 2 or words[0].lower() not in ("llen", "zcard"):
        yield Out("demo host: only `redis-cli LLEN|ZCARD queues:NAME` is simulated", stderr=True)
        return 1
    key = words[1].removeprefix("laravel_database_")
    m = re.fullmatch(r"queues:([a-z-]+)(:delayed|:reserved)?", key)
    snap = sh.sim.current()
    if not m or m.group(1) not in snap.queues:
        yield Out("0")
        return 0
    if words[0].lower() == "llen" and not m.group(2):
        yield Out(str(int(snap.queues[m.group(1)])))
    else:
        yield Out("0")
    return 0


def _php(sh: Shell, name: str, args: list[str]) -> Script:
    if not args:
        yield Out("demo host: interactive php is not simulated", stderr=True)
        return 1
    script_path = sh.path(args[0])
    if script_path != f"{APP_DIR}/artisan":
        yield Out(f"Could not open input file: {args[0]}")
        return 1
    status = yield from artisan.run(sh.sim, sh.host, args[1:])
    return status


def _audit(sh: Shell, name: str, args: list[str]) -> Script:
    path = sh.path(name) if "/" in name else name
    if path != f"{APP_DIR}/tools/preflight/compatibility_audit.sh":
        yield Out(f"bash: line 1: {name}: No such file or directory", stderr=True)
        return 127
    mode = next((a.split("=", 1)[1] for a in args if a.startswith("--mode=")), "pre-release")
    status = yield from artisan.audit(sh.sim, mode)
    return status


_BUILTINS = {
    "ls": _ls,
    "ps": _ps,
    "sort": _sort,
    "uniq": _uniq,
    "awk": _awk,
    "head": _head,
    "tail": _head,
    "wc": _wc,
    "egrep": _grep,
    "cd": _cd,
    "echo": _echo,
    "true": _true,
    "false": _true,
    "hostname": _hostname,
    "whoami": _whoami,
    "pwd": _pwd,
    "cat": _cat,
    "grep": _grep,
    "sed": _sed,
    "systemctl": _systemctl,
    "redis-cli": _redis_cli,
}

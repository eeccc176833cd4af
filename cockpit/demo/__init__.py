"""The embedded, simulated Academy stack behind ``cockpit demo`` (see `cockpit.demo.stack`).

`sim` is the platform's state machine, `shell`/`artisan` what its hosts answer,
`sshd` and `http`/`prom` serve it over real SSH and HTTP on loopback.
"""

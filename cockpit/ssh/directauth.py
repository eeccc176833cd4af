"""Public-key authentication in one round trip instead of three, for the pool's own connections.

An SSH client normally authenticates in three round trips: a ``none`` request (to learn
the server's methods), a public-key *query* (is this key acceptable?), then the signed
request. RFC 4252 lets a client start with any method (section 5) and send the signature
directly without the query (section 7). OpenSSH's sshd and asyncssh's client both do
it by the book; this module makes asyncssh do the short form, on connections opted in:

- the first request is ``publickey`` (``none`` follows only when no key is left to try);
- a key held in this process (a key file) is signed at once; a key that is not (an
  agent's, a PKCS#11 token's, a FIDO ``sk-`` key, each of which may ask for a touch or a
  confirmation) is queried first as before, so nothing asks the user for keys the server
  would refuse anyway.

What it saves: two round trips per connection, and the sshd's work for them. With a 50 ms
round trip, 64 hosts at 8 handshakes connected 27 % sooner (``tests/bench/auth_latency.py``);
on loopback at 1,000 hosts, where the CPU is the limit, 6 % sooner (docs/fleet.md).
The signature is bound to the session, whose host key was already verified, so the
server learns nothing it would not learn from a query answered with "yes".

asyncssh has no public hook for this: :func:`install` replaces its client handler for
``publickey`` with a subclass that behaves exactly as asyncssh's unless the connection's
owner (the ``client_factory`` object) says ``direct_auth = True``. If asyncssh's
internals ever move, :func:`install` leaves asyncssh alone and connections take the
three round trips (``tests/runner/test_direct_auth.py`` then fails, to say so).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import asyncssh
from asyncssh import auth as _auth
from asyncssh.packet import Boolean, String
from asyncssh.public_key import SSHLocalKeyPair

log = logging.getLogger(__name__)

_PUBLICKEY = b"publickey"


def signs_silently(keypair: asyncssh.SSHKeyPair) -> bool:
    """Whether signing with ``keypair`` is a computation here, never a prompt on a device."""
    return isinstance(keypair, SSHLocalKeyPair) and b"sk-" not in keypair.algorithm


def opt_in(conn: Any) -> None:
    """Make ``conn`` (an ``SSHClientConnection`` being opened) start with ``publickey``.

    Called from the owner's ``connection_made``, before the handshake; ``none`` stays
    behind it for a client with no key at all.
    """
    if install() and getattr(conn, "_auth_methods", None) == [b"none"]:
        conn._auth_methods = [_PUBLICKEY, b"none"]


@functools.cache
def install() -> bool:
    """Put the one-round-trip handler in asyncssh's place for ``publickey`` (once); False: could not."""
    handlers = getattr(_auth, "_client_auth_handlers", None)
    if not isinstance(handlers, dict):
        handlers = {}
    stock = handlers.get(_PUBLICKEY)
    if stock is None or not all(hasattr(stock, name) for name in ("_start", "_send_signed_request")):
        log.warning("asyncssh's public-key auth is not where expected: connections authenticate in 3 round trips")
        return False

    class DirectPublicKeyAuth(stock):  # type: ignore[misc, valid-type]
        """asyncssh's client public-key auth; signs at once for an opted-in connection's key files."""

        async def _start(self) -> None:
            if not getattr(self._conn.get_owner(), "direct_auth", False):
                await super()._start()
                return
            self._keypair = await self._conn.public_key_auth_requested()
            if self._keypair is None:
                self._conn.try_next_auth(next_method=True)
                return
            if signs_silently(self._keypair):
                await self._send_signed_request()
            else:   # as asyncssh does: ask first, sign on PK_OK
                await self.send_request(Boolean(False), String(self._keypair.algorithm),
                                        String(self._keypair.public_data))

    handlers[_PUBLICKEY] = DirectPublicKeyAuth
    return True

"""The policy of outgoing requests to URLs that users write (trigger webhooks).

Two checks, both needed:

* **the URL's form** (:func:`normalise_url`, always, also offline): ``http`` or
  ``https`` in any case (normalised to lower case, as is the host), no
  ``user:password@``, a host that is a DNS name, a dotted-quad IPv4 address
  written the canonical way or a bracketed IPv6 address. ``0x7f000001``,
  ``2130706433``, ``0177.0.0.1`` or ``127.1`` are refused: other parsers read
  them as addresses that a naive check would not see.
* **the address** (:class:`OutboundPolicy`): private, loopback, link-local,
  multicast, reserved, shared and unspecified addresses are refused unless an
  operator allows them (setting ``outbound_allow``: host names and CIDRs).
  A literal address is checked when a model is validated; every address a
  host name resolves to is checked at delivery time, and the connection goes
  to the checked address (:class:`GuardedBackend`), so a DNS answer that
  changes between the check and the connection (rebinding) cannot reach an
  address the policy refuses. A refused target is never connected to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

from ..errors import UsageError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_HINT = (
    "use the receiver's public address, or let the service reach this internal receiver "
    "by adding its host or network to the outbound_allow setting (LEADSCORE_OUTBOUND_ALLOW, "
    "e.g. 10.0.0.0/8 or hooks.internal)"
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(ValueError):
    """A URL the policy refuses: ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


def _host(raw: str) -> str:
    """The host in canonical form, or :class:`UrlRefused`."""
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise UrlRefused(
                f"host {raw!r} is not a valid IPv6 address", "write e.g. [2001:db8::1]"
            )
        try:
            return f"[{ipaddress.IPv6Address(raw[1:-1]).compressed}]"
        except ValueError:
            raise UrlRefused(
                f"host {raw!r} is not a valid IPv6 address", "write e.g. [2001:db8::1]"
            ) from None
    host = raw.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        try:
            canonical = str(ipaddress.IPv4Address(host))
        except ValueError:
            canonical = None
        if canonical != host:
            raise UrlRefused(
                f"host {raw!r} is a number or an address in a non-canonical spelling "
                "(hexadecimal, octal, leading zeros or fewer than four parts)",
                "write an IPv4 address as four decimal numbers, e.g. 203.0.113.7, or use "
                "the host name",
            )
        return host
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UrlRefused(
            f"host {raw!r} is not a valid host name",
            "use letters, digits, '-' and '.' (write international names in punycode, xn--…)",
        )
    return host


def normalise_url(url: str) -> str:
    """The URL with its scheme and host in lower case; :class:`UrlRefused` if its form is
    not allowed (see the module's docstring)."""
    if not isinstance(url, str) or not url or any(c <= " " or c > "~" for c in url):
        raise UrlRefused(
            f"{url!r} is not a URL", "write e.g. https://crm.example/hooks/mql, without spaces"
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url[len(scheme) :].startswith("://"):
        raise UrlRefused(f"{url!r} is not an http(s) URL", "a URL starts with http:// or https://")
    netloc = parts.netloc
    if "@" in netloc:
        raise UrlRefused(
            "the URL holds a user name or password (user:password@host)",
            "remove it; receivers check the Leadscore-Signature header instead",
        )
    if "\\" in url:
        raise UrlRefused(f"{url!r} holds a backslash", "write '/' between the parts of a URL")
    try:
        port = parts.port
    except ValueError:
        raise UrlRefused(f"{url!r} has an invalid port", "a port is a number 1-65535") from None
    raw_host = netloc.rsplit(":", 1)[0] if port is not None or netloc.endswith(":") else netloc
    if not raw_host:
        raise UrlRefused(f"{url!r} has no host", "write e.g. https://crm.example/hooks/mql")
    if port == 0:
        raise UrlRefused(f"{url!r} has port 0", "a port is a number 1-65535")
    host = _host(raw_host)
    rest = url[len(scheme) + 3 + len(netloc) :]
    return f"{scheme}://{host}{'' if port is None else f':{port}'}{rest}"


def host_of(url: str) -> str:
    """The (normalised) host of a normalised URL, without brackets."""
    return (urlsplit(url).hostname or "").lower()


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def address_class(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ("loopback", "private", …), or None when it is."""
    embedded: IPAddress | None = None
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.teredo:
            embedded = ip.teredo[1]
    if embedded is not None:
        inner = address_class(embedded)
        if inner:
            return inner
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Which hosts outgoing requests may reach: public addresses, plus the allowed ones."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> OutboundPolicy:
        """From the ``outbound_allow`` setting: host names and CIDRs separated by commas."""
        hosts, networks = set(), []
        for item in (text or "").replace(" ", ",").split(","):
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            try:
                hosts.add(_host(item))
            except UrlRefused as exc:
                raise UsageError(
                    f"setting outbound_allow: {item!r} is neither a host name nor a CIDR "
                    f"({exc.message}); write e.g. hooks.internal,10.0.0.0/8,127.0.0.1"
                ) from None
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().strip("[]").rstrip(".") in {h.strip("[]") for h in self.hosts}

    def refused_address(self, ip: IPAddress) -> str | None:
        """Why the policy refuses ``ip``, or None when it may be reached."""
        kind = address_class(ip)
        if kind is None or any(ip.version == n.version and ip in n for n in self.networks):
            return None
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"

    def refused_host(self, host: str) -> str | None:
        """Check what can be known without DNS: a literal address, or ``localhost``."""
        if self.allows_host(host):
            return None
        ip = _address(host)
        if ip is not None:
            return self.refused_address(ip)
        if host == "localhost" or host.endswith(".localhost"):
            return "a loopback address"
        return None

    def check_url(self, url: str) -> str:
        """The normalised URL, or :class:`UrlRefused` (form or a refused literal address)."""
        url = normalise_url(url)
        host = host_of(url)
        why = self.refused_host(host)
        if why:
            raise UrlRefused(
                f"host {host!r} is {why}, which outgoing requests may not reach", ALLOW_HINT
            )
        return url


class AddressRefused(httpcore.ConnectError):
    """The target's address is refused by the policy: no connection was attempted."""


Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves the host, checks every address, then connects to a checked one."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        resolver: Resolver | None = None,
        inner: httpcore.NetworkBackend | None = None,
    ):
        self.policy, self.resolver = policy, resolver
        self.inner = inner or httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[str]:
        literal = _address(host)
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = list((self.resolver or resolve)(host, port))
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError("dns: the host name did not resolve") from exc
            if not found:
                raise httpcore.ConnectError("dns: the host name did not resolve")
        if self.policy.allows_host(host):
            return found
        for text in found:
            why = self.policy.refused_address(ipaddress.ip_address(text.split("%")[0]))
            if why:
                raise AddressRefused(f"blocked: {host!r} resolves to {why}")
        return found

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last: Exception | None = None
        for address in self.addresses(host, port):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise AddressRefused("blocked: unix sockets are not reachable")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through :class:`GuardedBackend`.
    Host header, TLS server name and certificate checks stay those of the URL's host."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        backend: GuardedBackend | None = None,
        verify: ssl.SSLContext | bool = True,
    ):
        super().__init__(verify=verify, retries=0, trust_env=False)
        # The pool httpx builds, with its TLS settings, connecting through the guard.
        self._pool._network_backend = backend or GuardedBackend(policy)


def guarded_client(
    policy: OutboundPolicy,
    timeout: float,
    *,
    backend: GuardedBackend | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An httpx client for user-written URLs: guarded connections, no proxy from the
    environment (a proxy would resolve the host itself), no redirects followed."""
    return httpx.Client(
        timeout=timeout,
        transport=GuardedTransport(policy, backend=backend, verify=verify),
        trust_env=False,
        follow_redirects=False,
    )

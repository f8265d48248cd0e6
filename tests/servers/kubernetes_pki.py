"""Certificates for the test control plane, made with the openssl CLI (OpenSSL 3, ECDSA P-256).

One CA signs the API server's serving certificate (for 127.0.0.1) and a client certificate per
identity: the cluster admin (group ``system:masters``), the controller manager and the scheduler (the
users the bootstrap RBAC policy knows), and each kubelet as ``system:node:<name>`` in ``system:nodes``,
so the Node authorizer and the NodeRestriction admission plugin see what a real kubelet presents.
The service-account tokens are signed by a key of their own.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_DAYS = "2"  # a test session's certificates need not outlive the machine's next day
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class PkiError(RuntimeError):
    """openssl is missing or refused to make a key or certificate."""


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise PkiError("openssl is not installed: apt-get install -y openssl")
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise PkiError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()[-1000:]}")


class Pki:
    """A folder of keys and certificates; ``ca`` exists from construction on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = KeyPair(folder / "ca.crt", folder / "ca.key")
        _openssl("req", "-x509", *_EC, "-keyout", str(self.ca.key), "-out", str(self.ca.cert),
                 "-days", _DAYS, "-subj", "/CN=chaos-agent-test-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")

    def _issue(self, name: str, subject: str, extensions: list[str]) -> KeyPair:
        pair = KeyPair(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        addext = [arg for ext in ["basicConstraints=critical,CA:FALSE",
                                  "keyUsage=critical,digitalSignature,keyEncipherment", *extensions]
                  for arg in ("-addext", ext)]
        _openssl("req", "-x509", *_EC, "-keyout", str(pair.key), "-out", str(pair.cert), "-days", _DAYS,
                 "-subj", subject, "-CA", str(self.ca.cert), "-CAkey", str(self.ca.key), *addext)
        return pair

    def serving(self, name: str, ips: list[str], dns: list[str]) -> KeyPair:
        """A server certificate for these addresses and names."""
        san = ",".join([f"IP:{ip}" for ip in ips] + [f"DNS:{d}" for d in dns])
        return self._issue(name, f"/CN={name}", ["extendedKeyUsage=serverAuth", f"subjectAltName={san}"])

    def client(self, name: str, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
        """A client certificate: the API server takes CN as the user name and each O as a group."""
        subject = "".join(f"/O={g}" for g in groups) + f"/CN={user}"
        return self._issue(name, subject, ["extendedKeyUsage=clientAuth"])

    def service_account_key(self) -> KeyPair:
        """The key pair that signs ServiceAccount tokens (``cert`` is the public key in PEM)."""
        pair = KeyPair(self.folder / "sa.pub", self.folder / "sa.key")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", str(pair.key))
        _openssl("pkey", "-in", str(pair.key), "-pubout", "-out", str(pair.cert))
        return pair

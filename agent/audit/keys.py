"""The audit key: read from a file (a Kubernetes Secret mounted as one), never from the config itself.

Whoever can rewrite the journal file but does not hold the key can no longer re-seal it: every line's
``mac`` is an HMAC-SHA256 under this key. The file's bytes are the key, without surrounding whitespace.
"""

from __future__ import annotations

from pathlib import Path

from agent.audit.records import MIN_KEY_BYTES, UNKEYED, Sealer
from agent.errors import ConfigError

MAKE_ONE = "head -c 32 /dev/urandom | base64 > FILE"


def load_sealer(key_file: Path | None) -> Sealer:
    """The sealer for ``[audit] key_file``: keyed when a file is named, plain SHA-256 otherwise."""
    if key_file is None:
        return UNKEYED
    try:
        key = key_file.read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"audit.key_file {key_file} cannot be read ({e.strerror}); point it to a readable file "
                          f"holding the key (make one with: {MAKE_ONE})") from e
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"audit.key_file {key_file} holds {len(key)} bytes; an audit key needs at least "
                          f"{MIN_KEY_BYTES} (make one with: {MAKE_ONE})")
    return Sealer(key)

"""Member keys on this machine (SPEC §7): Ed25519 private keys in files only their user can read.

`pot key new` makes a key, writes it here (or to `--file`) and registers its
public half in the pot; from then on `LocalKeys`, the command line's keyring,
signs the actor's events with it (`ledger.key_commands.Keyring`). A private key
never leaves its file: the pot stores the public key, the proof and the
signatures, and so does an export.

Keys live in the user's data directory (platformdirs, as the default store
does), in `keys/`, one file per key, named by pot, member and key id, so the key
in force for a member is found without reading any other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from domain.errors import BadInput
from domain.signing import Signer, b64url, key_id_of
from domain.values import name_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.app import Ledger


def key_dir() -> Path:
    """Where `pot key new` keeps keys unless told otherwise: `keys/` in the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("commonpot", appauthor=False) / "keys"


def _stem(slug: str, member: str) -> str:
    # The member's name compared as the pot compares names, quoted so that no name makes a path.
    return f"{slug}.{quote(name_key(member), safe='')}"


def key_path(slug: str, member: str, key_id: str) -> Path:
    return key_dir() / f"{_stem(slug, member)}.{key_id}.key"


def keys_here(slug: str, member: str) -> list[Path]:
    """The key files in the data directory for this member of this pot."""
    found = key_dir().glob(f"{_stem(slug, member)}.*.key")
    return sorted(path for path in found if path.is_file())


# --------------------------------------------------------------------------- one key
def new_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def public_key_text(private: Ed25519PrivateKey) -> str:
    """The 32-byte raw public key in base64url without padding, as the pot registers it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return b64url(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id(private: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key_id_of(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def signer(private: Ed25519PrivateKey) -> Signer:
    return Signer(key_id=key_id(private), sign=private.sign)


def write_key(private: Ed25519PrivateKey, path: Path) -> None:
    """Write the key (PKCS#8 PEM) to a new file that only its user may read or write (0600).

    Never over an existing file: that could be another key, lost for good.
    """
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadInput(f"{path} exists already: a key file is never overwritten") from None
    except OSError as e:
        raise BadInput(f"cannot write the key to {path}: {e.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def load_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a file `pot key new` wrote; a clear error for anything else."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read the key file {path}: {e.strerror}") from None
    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise BadInput(f"{path} does not hold a private key as `pot key new` writes one") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise BadInput(f"{path} holds a private key that is not Ed25519")
    return private


# --------------------------------------------------------------------------- the command line's keyring
@dataclass(frozen=True)
class LocalKeys:
    """The keys on this machine: `--key FILE` if given, else the actor's in the data directory.

    With `--no-sign`, none.
    """

    key_file: Path | None = None
    no_sign: bool = False

    def signer(self, slug: str, member: str, active: list[str]) -> Signer | None:
        if self.no_sign:
            return None
        if self.key_file is not None:
            # Asked for by name: used even if not registered, so the command says why it is refused.
            return signer(load_key(self.key_file))
        # The newest key in force that this machine holds; none in force, no file is read.
        for key_id_ in reversed(active):
            path = key_path(slug, member, key_id_)
            if path.is_file():
                return signer(load_key(path))
        return None


# --------------------------------------------------------------------------- what the pot holds
@dataclass(frozen=True)
class KeyInfo:
    """A key registered in a pot: whose, its id and public key, the events that added and revoked it."""

    member: str
    key_id: str
    public_key: str
    added: int
    revoked: int | None


def registered_keys(ledger: Ledger, slug: str, member: str | None = None) -> list[KeyInfo]:
    """Every key registered in the pot (for one member, if named), in the order they were added."""
    pot = ledger.load(slug)
    found = [
        KeyInfo(key.member, key_id_, key.public_key, key.added, key.revoked)
        for key_id_, key in pot.state.keys.items()
        if member is None or name_key(key.member) == name_key(member)
    ]
    return sorted(found, key=lambda k: k.added)


def chain_head(ledger: Ledger, slug: str) -> tuple[int, str]:
    """The pot's newest event number and its full digest: what a client signs against as `seen` (SPEC §7)."""
    pot = ledger.load(slug)
    return pot.version, pot.state.head

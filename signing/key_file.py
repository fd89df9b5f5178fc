"""The production key configuration file (JSON), read once at start-up.

    {
      "trust_roots": ["/etc/tiltas/roots/qualified-root.pem"],
      "keys": [
        {"organisation_code": "188000011", "role": "e-seal",
         "signer_name": "Marijampolės pataisos namai", "position": "Elektroninis spaudas",
         "pkcs12": {"path": "/etc/tiltas/keys/seal.p12", "password_env": "TILTAS_SEAL_PASSWORD"}},
        {"organisation_code": "188000011", "role": "director",
         "signer_name": "Petras Kazlauskas", "position": "Direktorius",
         "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "tiltas",
                    "pin_env": "TILTAS_HSM_PIN", "key_label": "director"}}
      ]
    }

Passwords and PINs never sit in the file: it names the environment variables holding them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signing.config import Pkcs11KeySource, Pkcs12KeySource, SignerKeyConfig
from signing.errors import KeyUnavailable

__all__ = ["KeyFile", "load_key_file"]


@dataclass(frozen=True)
class KeyFile:
    trust_roots: tuple[Path, ...]
    keys: tuple[SignerKeyConfig, ...]


def _secret(entry: dict[str, Any], name: str, key_id: str) -> str:
    variable = entry.get(name)
    if not variable:
        raise KeyUnavailable(f"{name} is missing in the key file", key_id=key_id, reason="config")
    value = os.environ.get(variable)
    if value is None:
        raise KeyUnavailable(
            f"the environment variable {variable} is not set", key_id=key_id, reason="config"
        )
    return value


def _key(entry: dict[str, Any]) -> SignerKeyConfig:
    key_id = f"{entry.get('organisation_code')}/{entry.get('role')}"
    source: Pkcs12KeySource | Pkcs11KeySource
    if "pkcs12" in entry:
        p12 = entry["pkcs12"]
        password = _secret(p12, "password_env", key_id) if "password_env" in p12 else None
        source = Pkcs12KeySource(
            Path(p12["path"]), password.encode() if password is not None else None
        )
    elif "pkcs11" in entry:
        p11 = entry["pkcs11"]
        source = Pkcs11KeySource(
            module_path=str(p11["module"]),
            token_label=p11["token_label"],
            user_pin=_secret(p11, "pin_env", key_id),
            key_label=p11.get("key_label"),
            cert_label=p11.get("cert_label"),
            chain_paths=tuple(Path(p) for p in p11.get("chain", ())),
        )
    else:
        raise KeyUnavailable("a key needs pkcs12 or pkcs11", key_id=key_id, reason="config")
    return SignerKeyConfig(
        organisation_code=str(entry["organisation_code"]),
        role=str(entry["role"]),
        source=source,
        signer_name=str(entry["signer_name"]),
        position=str(entry["position"]),
    )


def load_key_file(path: Path) -> KeyFile:
    try:
        raw = json.loads(path.read_text("utf-8"))
        return KeyFile(
            trust_roots=tuple(Path(p) for p in raw["trust_roots"]),
            keys=tuple(_key(entry) for entry in raw["keys"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise KeyUnavailable(
            f"the key file {path} cannot be read", key_id="*", reason=type(error).__name__
        ) from error

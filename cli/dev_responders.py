"""``python -m cli.dev_responders DIR``: serve the development PKI's TSA and OCSP on loopback
until SIGTERM (``tiltas serve`` runs and supervises it in development)."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from signing.dev_pki import ensure_dev_pki
from signing.dev_responders import DevResponders


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cli.dev_responders PKI_DIR", file=sys.stderr)
        return 2
    pki = ensure_dev_pki(Path(argv[0]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with DevResponders(pki):
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The reference side of tests/canonical_differential.rs.

Usage: canonical.py DOCS_FILE PATTERNS_FILE

DOCS_FILE holds one JSON document a line. For each, prints one line: the hex of
securesystemslib's encode_canonical(json.loads(line)) as UTF-8 (what python-tuf
signs and verifies), or "ERR" when it refuses the document.

PATTERNS_FILE holds one JSON array [target_path, pattern] a line. For each, prints a
line "1" or "0": whether python-tuf's delegation search takes the role whose path
pattern that is as trusted for that target path.
"""

import json
import sys

from securesystemslib.formats import encode_canonical
from tuf.api.metadata import DelegatedRole


def main() -> None:
    docs, patterns = sys.argv[1], sys.argv[2]
    out = sys.stdout
    with open(docs, encoding="utf-8") as f:
        for line in f:
            try:
                canonical = encode_canonical(json.loads(line)).encode("utf-8")
            except Exception:  # noqa: BLE001 - any refusal is one answer: ERR
                out.write("ERR\n")
                continue
            out.write(canonical.hex() + "\n")
    with open(patterns, encoding="utf-8") as f:
        for line in f:
            path, pattern = json.loads(line)
            role = DelegatedRole("r", [], 1, False, paths=[pattern])
            out.write("1\n" if role.is_delegated_path(path) else "0\n")


if __name__ == "__main__":
    main()

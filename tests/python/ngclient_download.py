"""Refresh and download targets with python-tuf's ngclient, for the interop tests.

Usage: ngclient_download.py METADATA_DIR METADATA_URL TARGETS_URL OUT_DIR TARGET...
METADATA_DIR must hold the trusted root.json. Prints one downloaded path per line;
exits non-zero when anything fails (python-tuf raises).
"""

import os
import sys

from tuf.ngclient import Updater


def main() -> None:
    metadata_dir, metadata_url, targets_url, out_dir, *names = sys.argv[1:]
    with open(os.path.join(metadata_dir, "root.json"), "rb") as f:
        trusted_root = f.read()
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=metadata_url,
        target_base_url=targets_url,
        target_dir=out_dir,
        bootstrap=trusted_root,
    )
    updater.refresh()
    for name in names:
        info = updater.get_targetinfo(name)
        if info is None:
            sys.exit(f"python-tuf: target {name!r} not found")
        print(updater.download_target(info))


if __name__ == "__main__":
    main()

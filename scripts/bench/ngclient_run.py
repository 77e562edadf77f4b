"""python-tuf's ngclient doing what `updater-cli` does in the benchmark.

    ngclient_run.py --root ROOT --metadata-dir D --metadata-url U \
        [--target-name T --target-base-url U --target-dir D]

Refreshes (root, timestamp, snapshot, targets), then, when --target-name is given,
looks the target up (delegations included) and downloads and verifies it into
--target-dir, as `updater-cli download` does. ROOT is the trusted root given to the
Updater as its bootstrap (the application ships it); the metadata directory holds
what earlier runs trusted. Exit status 0 on success, 1 on any failure.
"""

import argparse
import os
import sys

from tuf.ngclient import Updater


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--metadata-dir", required=True)
    parser.add_argument("--metadata-url", required=True)
    parser.add_argument("--target-name")
    parser.add_argument("--target-base-url")
    parser.add_argument("--target-dir")
    args = parser.parse_args()

    with open(args.root, "rb") as f:
        bootstrap = f.read()
    os.makedirs(args.metadata_dir, exist_ok=True)
    updater = Updater(
        metadata_dir=args.metadata_dir,
        metadata_base_url=args.metadata_url,
        target_base_url=args.target_base_url,
        target_dir=args.target_dir,
        bootstrap=bootstrap,
    )
    updater.refresh()
    if args.target_name:
        os.makedirs(args.target_dir, exist_ok=True)
        info = updater.get_targetinfo(args.target_name)
        if info is None:
            print(f"target {args.target_name} not found", file=sys.stderr)
            return 1
        if updater.find_cached_target(info) is None:
            updater.download_target(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())

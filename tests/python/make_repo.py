"""Write a TUF repository with python-tuf's Metadata API, for the interop tests.

Usage: make_repo.py OUT_DIR N_TARGETS BIT_LENGTH [NAME...]

OUT_DIR/metadata: consistent-snapshot metadata (N.root.json, N.targets.json, one
succinct hash-bin role per bin, N.snapshot.json, timestamp.json).
OUT_DIR/targets: hash-prefixed target files, one top-level ("top.txt") and
N_TARGETS in the hash bins ("files/file-I.txt" with content "content I"). Each
NAME (names that canonical JSON encoders have got wrong: prefixes of one another,
precomposed and decomposed twins) is listed twice, as "top/NAME" in the top-level
targets and as "files/NAME" in the bins, with content "tricky NAME".
"""

import os
import sys
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    MetaFile,
    Metadata,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer


def main() -> None:
    out, count, bit_length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tricky = sys.argv[4:]
    meta_dir = os.path.join(out, "metadata")
    os.makedirs(meta_dir, exist_ok=True)
    expiry = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
    signers = {r: CryptoSigner.generate_ed25519() for r in ["root", "timestamp", "snapshot", "targets", "bins"]}
    # One role signed with ECDSA too, to exercise PEM keys written by securesystemslib.
    signers["timestamp"] = CryptoSigner.generate_ecdsa()

    root = Root(expires=expiry)
    for role in ["root", "timestamp", "snapshot", "targets"]:
        root.add_key(signers[role].public_key, role)

    targets = Targets(expires=expiry)
    succinct = SuccinctRoles(keyids=[], threshold=1, bit_length=bit_length, name_prefix="bins")
    targets.delegations = Delegations(keys={}, roles=None, succinct_roles=succinct)
    targets.add_key(signers["bins"].public_key)

    def write_target(path: str, data: bytes) -> TargetFile:
        info = TargetFile.from_data(path, data, ["sha256", "sha512"])
        directory, _, name = path.rpartition("/")
        for digest in info.hashes.values():
            dest = os.path.join(out, "targets", directory, f"{digest}.{name}")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(data)
        return info

    targets.targets["top.txt"] = write_target("top.txt", b"top-level target")
    bins = {name: Targets(expires=expiry) for name in succinct.get_roles()}
    for i in range(count):
        path = f"files/file-{i}.txt"
        bins[succinct.get_role_for_target(path)].targets[path] = write_target(path, f"content {i}".encode())
    for name in tricky:
        data = f"tricky {name}".encode()
        targets.targets[f"top/{name}"] = write_target(f"top/{name}", data)
        path = f"files/{name}"
        bins[succinct.get_role_for_target(path)].targets[path] = write_target(path, data)

    serializer = JSONSerializer(compact=False)

    def publish(signed, role: str, signer_role: str, file_name: str) -> None:
        md = Metadata(signed)
        md.sign(signers[signer_role])
        md.to_file(os.path.join(meta_dir, file_name), serializer)

    publish(root, "root", "root", "1.root.json")
    publish(targets, "targets", "targets", "1.targets.json")
    snapshot = Snapshot(expires=expiry)
    snapshot.meta["targets.json"] = MetaFile(1)
    for name, bin_targets in bins.items():
        publish(bin_targets, name, "bins", f"1.{name}.json")
        snapshot.meta[f"{name}.json"] = MetaFile(1)
    publish(snapshot, "snapshot", "snapshot", "1.snapshot.json")
    timestamp = Timestamp(expires=expiry)
    timestamp.snapshot_meta = MetaFile(1)
    publish(timestamp, "timestamp", "timestamp", "timestamp.json")


if __name__ == "__main__":
    main()

"""A real full disk for one command: `unshare --user --map-root-user --mount python -m
tests.small_disk SIZE_KIB SOURCE MOUNTPOINT SNAPSHOT_JSON CMD...` mounts a SIZE_KIB tmpfs at
MOUNTPOINT (visible to this process tree only), copies SOURCE into it, runs CMD, then writes the
sha256 of every file on that small disk to SNAPSHOT_JSON and exits with CMD's status."""
import json
import shutil
import subprocess
import sys

from tests.e2e.conftest import snapshot


def available() -> bool:
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def command(size_kib: int, source: str, mountpoint: str, snapshot_json: str, *cmd: str):
    return ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m",
            "tests.small_disk", str(size_kib), source, mountpoint, snapshot_json, *cmd]


if __name__ == "__main__":
    size, source, mountpoint, snapshot_json, *cmd = sys.argv[1:]
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}k", "tmpfs", mountpoint], check=True)
    shutil.copytree(source, mountpoint, dirs_exist_ok=True)
    status = subprocess.run(cmd, check=False).returncode
    with open(snapshot_json, "w", encoding="utf-8") as f:
        json.dump(snapshot(mountpoint), f)
    sys.exit(status)

"""The benchmark driver: serves the generated repositories with nginx on loopback
and times `updater-cli` and python-tuf's ngclient on identical work, whole process.

Run by scripts/bench.sh, which builds everything first; see there for the options.
Only the standard library is used.

Every figure is the median over several runs of a fresh process: wall time from
just before the process is started until it has exited (time.perf_counter), peak
resident set size as GNU time (/usr/bin/time) reports it (the kernel's ru_maxrss),
and the HTTP requests it made (lines nginx appended to its access log).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path


# ----------------------------------------------------------------------------- nginx


class Nginx:
    """nginx serving `root` over plain HTTP on a free loopback port, with its
    configuration, logs and temporary files in `state`."""

    def __init__(self, binary: str, root: Path, state: Path):
        state.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = state / "access.log"
        self.log.write_text("")
        conf = state / "nginx.conf"
        conf.write_text(
            f"""daemon off;
master_process off;
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {self.log};
  client_body_temp_path {state}/client_body;
  proxy_temp_path {state}/proxy;
  fastcgi_temp_path {state}/fastcgi;
  uwsgi_temp_path {state}/uwsgi;
  scgi_temp_path {state}/scgi;
  default_type application/octet-stream;
  types {{ application/json json; }}
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  server {{
    listen 127.0.0.1:{self.port};
    server_name localhost;
    root {root};
  }}
}}
"""
        )
        self.proc = subprocess.Popen(
            [binary, "-p", str(state), "-e", str(state / "error.log"), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"nginx exited: {(state / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not listen within 10 s")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def log_lines(self) -> int:
        with open(self.log, "rb") as f:
            return sum(1 for _ in f)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------- measurement


class Run:
    def __init__(self, wall: float, rss_kib: int, requests: int):
        self.wall = wall
        self.rss_kib = rss_kib
        self.requests = requests


TIME = "/usr/bin/time"


def measure(cmd: list, nginx: Nginx, log: Path) -> Run:
    """Runs `cmd` to completion; its wall time, peak RSS and HTTP requests.

    The command runs under GNU time, which reports the peak RSS. Not os.wait4 on a
    child of this script: a process spawned by Python starts as a copy of (or shares)
    the interpreter's memory, and the kernel counts that towards the child's
    ru_maxrss even after exec, so nothing smaller than this script (~15 MiB) could
    be measured. GNU time is small; its own child starts at about 2 MiB.
    """
    # Start every run with nothing dirty in the page cache: what earlier runs (or other
    # programs) wrote is not this run's writeback to pay for.
    os.sync()
    before = nginx.log_lines()
    rss_file = log.with_name("rss.txt")
    with open(log, "ab") as err:
        err.write(("$ " + " ".join(cmd) + "\n").encode())
        err.flush()
        start = time.perf_counter()
        proc = subprocess.run([TIME, "-o", str(rss_file), "-f", "%M"] + cmd,
                              stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    rss_kib = int(rss_file.read_text().split()[-1])
    # nginx logs a request once it has sent the response; let it catch up.
    requests = nginx.log_lines() - before
    for _ in range(20):
        time.sleep(0.01)
        now = nginx.log_lines() - before
        if now == requests:
            break
        requests = now
    return Run(wall, rss_kib, requests)


class Summary:
    """Medians of a list of runs."""

    def __init__(self, runs: list):
        self.n = len(runs)
        self.wall = statistics.median(r.wall for r in runs)
        self.rss_mib = statistics.median(r.rss_kib for r in runs) / 1024
        self.requests = statistics.median(r.requests for r in runs)
        self.walls = sorted(r.wall for r in runs)


# ----------------------------------------------------------------------- the clients


class Clients:
    def __init__(self, args, nginx: Nginx, work: Path):
        self.cli = args.cli
        self.python = args.python
        self.driver = str(Path(__file__).with_name("ngclient_run.py"))
        self.nginx = nginx
        self.work = work
        self.log = work / "commands.log"
        self.counter = 0

    def fresh_dirs(self, who: str):
        self.counter += 1
        base = self.work / f"{who}-{self.counter}"
        shutil.rmtree(base, ignore_errors=True)
        (base / "metadata").mkdir(parents=True)
        (base / "targets").mkdir()
        return base

    def command(self, who: str, repo: Path, base: Path, target: str | None) -> list:
        name = repo.name
        metadata_url = self.nginx.url(f"{name}/metadata/")
        targets_url = self.nginx.url(f"{name}/targets/")
        if who == "updater":
            cmd = [self.cli, "--metadata-dir", str(base / "metadata"),
                   "--metadata-url", metadata_url]
            if target is None:
                return cmd + ["refresh"]
            return cmd + ["--target-name", target, "--target-base-url", targets_url,
                          "--target-dir", str(base / "targets"), "download"]
        cmd = [self.python, self.driver, "--root", str(repo / "metadata" / "1.root.json"),
               "--metadata-dir", str(base / "metadata"), "--metadata-url", metadata_url]
        if target is None:
            return cmd
        return cmd + ["--target-name", target, "--target-base-url", targets_url,
                      "--target-dir", str(base / "targets")]

    def cold(self, who: str, repo: Path, target: str, size: int) -> tuple:
        """Empty metadata directory (only the trusted root) -> refresh -> download."""
        base = self.fresh_dirs(who)
        if who == "updater":
            # What `updater-cli init` installs; python-tuf gets the same root as its
            # bootstrap, and both verify it in the measured process.
            shutil.copy(repo / "metadata" / "1.root.json", base / "metadata" / "root.json")
        run = measure(self.command(who, repo, base, target), self.nginx, self.log)
        got = [p for p in (base / "targets").iterdir() if not p.name.startswith(".")]
        if len(got) != 1 or got[0].stat().st_size != size:
            raise SystemExit(f"{who}: the target is missing or has the wrong size in {base}")
        for p in got:
            p.unlink()
        return run, base

    def warm(self, who: str, repo: Path, base: Path) -> Run:
        """Refresh over a metadata directory that is already up to date."""
        return measure(self.command(who, repo, base, None), self.nginx, self.log)


WHO = ("updater", "python-tuf")


def cold_and_warm(clients: Clients, repo: Path, target: str, size: int, runs: int):
    cold = {w: [] for w in WHO}
    warm = {w: [] for w in WHO}
    bases = {}
    for w in WHO:  # one unmeasured run each: page cache, nginx's first open
        _, bases[w] = clients.cold(w, repo, target, size)
    for _ in range(runs):
        for w in WHO:  # interleaved, so drift on a shared machine hits both alike
            run, bases[w] = clients.cold(w, repo, target, size)
            cold[w].append(run)
    for _ in range(runs):
        for w in WHO:
            warm[w].append(clients.warm(w, repo, bases[w]))
    for w in WHO:
        shutil.rmtree(bases[w], ignore_errors=True)
    return ({w: Summary(cold[w]) for w in WHO}, {w: Summary(warm[w]) for w in WHO})


def big_download(clients: Clients, repo: Path, target: str, size: int, runs: int):
    out = {w: [] for w in WHO}
    for _ in range(runs):
        for w in WHO:
            run, base = clients.cold(w, repo, target, size)
            shutil.rmtree(base, ignore_errors=True)
            out[w].append(run)
    return {w: Summary(out[w]) for w in WHO}


def release_checks(args, nginx: Nginx, manifest: dict, runs: int) -> dict:
    """`updater-cli check` from the oldest release, cold (only the trusted root), on
    each repository of `bench_releases`: flat, and the same releases in hash bins."""
    out = {}
    log = args.work / "commands.log"
    for name, repo in manifest["repositories"].items():
        published = (args.repos / repo["published"]).resolve()
        base_url = nginx.url(repo["published"] + "/")
        runs_of_repo = []
        for i in range(runs + 1):
            data = args.work / f"check-{name}-{i}"
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            cmd = [args.cli, "check", "--app", manifest["app"],
                   "--current-version", manifest["current"], "--repository", base_url,
                   "--root", str(published / "metadata" / "1.root.json"),
                   "--data-dir", str(data), "--executable", str(data / "bin" / manifest["app"]),
                   "--json"]
            if i == 0:  # unmeasured: warms the page cache, and checks the answer
                got = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                                check=True).stdout)
                if (got.get("release") or {}).get("version") != manifest["newest"]:
                    raise SystemExit(f"{name}: check offered {got.get('release')}, "
                                     f"not {manifest['newest']}")
            else:
                runs_of_repo.append(measure(cmd, nginx, log))
            shutil.rmtree(data, ignore_errors=True)
        out[name] = Summary(runs_of_repo)
    return out


def curl_throughput(nginx: Nginx, path: str, size: int, runs: int) -> float:
    """Median bytes per second of `curl -o /dev/null` from the same server."""
    speeds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["curl", "-sf", "-o", "/dev/null", nginx.url(path)], check=True)
        speeds.append(size / (time.perf_counter() - start))
    return statistics.median(speeds)


def curl_to_file_throughput(nginx: Nginx, path: str, size: int, dest: Path, runs: int,
                            fsync: bool) -> float:
    """Median bytes per second of `curl -o FILE`, with `fsync` of the file after it when
    `fsync`: the same transfer stored in the directory the clients write to, without
    verification (context, not the bound)."""
    speeds = []
    for _ in range(runs):
        os.sync()
        start = time.perf_counter()
        subprocess.run(["curl", "-sf", "-o", str(dest), nginx.url(path)], check=True)
        if fsync:
            fd = os.open(dest, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        speeds.append(size / (time.perf_counter() - start))
        dest.unlink()
    return statistics.median(speeds)


def sha256_throughput() -> float:
    """Bytes per second of `openssl speed -evp sha256` on 64 KiB blocks."""
    out = subprocess.run(
        ["openssl", "speed", "-evp", "sha256", "-bytes", "65536", "-seconds", "2"],
        capture_output=True, text=True, check=True,
    ).stdout
    m = re.search(r"^sha256\s+([\d.]+)k\s*$", out, re.M)
    if not m:
        raise SystemExit(f"cannot read openssl speed output:\n{out}")
    return float(m.group(1)) * 1000


# -------------------------------------------------------------------------- report


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() or "?"
        except OSError:
            return "?"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "rustc": version(["rustc", "--version"]),
        "python": version([clients_python, "-c", "import sys; print(sys.version.split()[0])"]),
        "tuf": version([clients_python, "-c", "import tuf; print(tuf.__version__)"]),
        "nginx": subprocess.run([nginx_binary, "-v"], capture_output=True, text=True)
        .stderr.strip().replace("nginx version: ", ""),
        "curl": version(["curl", "--version"]).splitlines()[0].split(" (")[0],
        "openssl": version(["openssl", "version"]),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s"


def mib(x: float) -> str:
    return f"{x:,.1f} MiB"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main():
    global clients_python, nginx_binary
    p = argparse.ArgumentParser()
    p.add_argument("--repos", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--nginx", default="/usr/sbin/nginx")
    p.add_argument("--runs", type=int, default=11)
    p.add_argument("--big-runs", type=int, default=3)
    p.add_argument("--skip-big", action="store_true")
    p.add_argument("--big-only", action="store_true", help="only the big target (no results file)")
    p.add_argument("--publish-table", type=Path, help="output of repo-tool's publish bench")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--json", type=Path, help="also write the raw figures here")
    args = p.parse_args()
    # A terminated run still stops its nginx (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    clients_python, nginx_binary = args.python, args.nginx
    args.cli = str(Path(args.cli).resolve())
    args.python = str(Path(args.python).absolute())

    manifest = json.loads((args.repos / "manifest.json").read_text())
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    args.work = args.work.resolve()
    info = machine()
    started = time.monotonic()
    nginx = Nginx(args.nginx, args.repos.resolve(), args.work / "nginx")
    try:
        clients = Clients(args, nginx, args.work)
        results = {}
        for name in () if args.big_only else ("flat", "bins"):
            m = manifest[name]
            repo = (args.repos / name).resolve()
            size = m["target_bytes"]
            print(f"== {name}: cold start and warm refresh, {args.runs} runs each", flush=True)
            results[name] = cold_and_warm(clients, repo, m["target"], size, args.runs)
        releases_manifest = args.repos / "releases.json"
        if not args.big_only and releases_manifest.exists():
            rm = json.loads(releases_manifest.read_text())
            print(f"== release discovery: check among {rm['releases']:,} releases, "
                  f"{args.runs} runs each", flush=True)
            results["releases"] = (rm, release_checks(args, nginx, rm, args.runs))
        if not args.skip_big:
            m = manifest["big"]
            repo = (args.repos / "big").resolve()
            size = m["target_bytes"]
            print(f"== big: {size >> 20} MiB target, {args.big_runs} runs each", flush=True)
            big = big_download(clients, repo, m["target"], size, args.big_runs)
            target_file = next(p for p in (repo / "targets" / "big").iterdir()
                               if not p.name.startswith("."))
            curl = curl_throughput(nginx, f"big/targets/big/{target_file.name}", size,
                                   args.big_runs)
            curl_file = {
                durable: curl_to_file_throughput(
                    nginx, f"big/targets/big/{target_file.name}", size,
                    args.work / "curl.out", args.big_runs, fsync=durable)
                for durable in (False, True)
            }
            sha = sha256_throughput()
            results["big"] = (big, curl, sha, size, curl_file)
    finally:
        nginx.stop()
    elapsed = time.monotonic() - started
    if args.big_only:
        big, curl, sha, size, curl_file = results["big"]
        for w in WHO:
            print(w, [f"{x:.2f}" for x in big[w].walls], f"{big[w].rss_mib:.1f} MiB")
        print(f"curl {curl / 1e6:.0f} MB/s, curl to file {curl_file[False] / 1e6:.0f} MB/s "
              f"({curl_file[True] / 1e6:.0f} MB/s with fsync), sha256 {sha / 1e6:.0f} MB/s")
        return
    publish = args.publish_table.read_text() if args.publish_table and args.publish_table.exists() else ""
    text = report(info, manifest, results, publish, args, elapsed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    if args.json:
        raw = {"machine": info, "manifest": manifest}
        for name in ("flat", "bins"):
            if name in results:
                cold, warm = results[name]
                raw[name] = {k: {w: vars(v[w]) for w in WHO} for k, v in
                             (("cold", cold), ("warm", warm))}
        if "releases" in results:
            rm, checks = results["releases"]
            raw["releases"] = {"manifest": rm, "check": {k: vars(v) for k, v in checks.items()}}
        if "big" in results:
            big, curl, sha, size, curl_file = results["big"]
            raw["big"] = {"runs": {w: vars(big[w]) for w in WHO}, "curl_Bps": curl,
                          "curl_to_file_Bps": curl_file[False],
                          "curl_to_file_fsync_Bps": curl_file[True], "sha256_Bps": sha, "bytes": size}
        args.json.write_text(json.dumps(raw, indent=2))


def report(info, manifest, results, publish, args, elapsed) -> str:
    flat_cold, flat_warm = results["flat"]
    bins_cold, bins_warm = results["bins"]
    u, py = "updater", "python-tuf"
    rows = []

    def row(what, ours, theirs, ratio, target, ok):
        rows.append(f"| {what} | {ours} | {theirs} | {ratio} | {target} | {verdict(ok) if ok is not None else ''} |")

    def x(a, b):
        return f"{b / a:.1f}x faster" if a <= b else f"{a / b:.1f}x slower"

    f, b = manifest["flat"], manifest["bins"]
    row(f"Cold start, flat {f['targets']:,} targets (targets.json {f['targets_json_bytes'] / 1e6:.1f} MB): wall",
        ms(flat_cold[u].wall), ms(flat_cold[py].wall), x(flat_cold[u].wall, flat_cold[py].wall),
        ">= 10x faster", flat_cold[py].wall / flat_cold[u].wall >= 10)
    row("Cold start, flat: peak RSS", mib(flat_cold[u].rss_mib), mib(flat_cold[py].rss_mib),
        f"{flat_cold[u].rss_mib / flat_cold[py].rss_mib:.2f}", "<= 0.25",
        flat_cold[u].rss_mib <= flat_cold[py].rss_mib / 4)
    row("Cold start, flat: HTTP requests", f"{flat_cold[u].requests:g}", f"{flat_cold[py].requests:g}", "", "", None)
    row(f"Cold start, {b['targets']:,} targets in {b['bins']:,} succinct bins: wall",
        ms(bins_cold[u].wall), ms(bins_cold[py].wall), x(bins_cold[u].wall, bins_cold[py].wall),
        "< 2x flat cold start", bins_cold[u].wall < 2 * flat_cold[u].wall)
    row("Cold start, bins: peak RSS", mib(bins_cold[u].rss_mib), mib(bins_cold[py].rss_mib),
        f"{bins_cold[u].rss_mib / bins_cold[py].rss_mib:.2f}", "", None)
    row("Cold start, bins: HTTP requests", f"{bins_cold[u].requests:g}", f"{bins_cold[py].requests:g}", "", "", None)
    for label, warm in (("flat", flat_warm), ("bins", bins_warm)):
        row(f"Warm refresh, nothing changed ({label}): wall", ms(warm[u].wall), ms(warm[py].wall),
            x(warm[u].wall, warm[py].wall), "", None)
        row(f"Warm refresh ({label}): HTTP requests", f"{warm[u].requests:g}", f"{warm[py].requests:g}", "",
            "<= 2", warm[u].requests <= 2)
        row(f"Warm refresh ({label}): peak RSS", mib(warm[u].rss_mib), mib(warm[py].rss_mib),
            f"{warm[u].rss_mib / warm[py].rss_mib:.2f}", "", None)
    if "releases" in results:
        rm, checks = results["releases"]
        repos = rm["repositories"]
        flat = checks["releases-flat"]
        n_bins = repos["releases-bins"]["bins"]
        row(f"Check for the next release among {rm['releases']:,} releases, flat (cold): wall",
            ms(flat.wall), "", "", "", None)
        row("Check, flat: HTTP requests", f"{flat.requests:g}", "", "", "", None)
        for name, label in (("releases-bins", "snapshot with each bin's length and hash"),
                            ("releases-bins-versions", "snapshot with versions only")):
            if name not in checks:
                continue
            bins = checks[name]
            row(f"Check, the same releases in {n_bins:,} hash bins, {label} "
                f"({repos[name]['snapshot_bytes'] / 1e6:.2f} MB): wall",
                ms(bins.wall), "", f"{bins.wall / flat.wall:.2f}x flat", "", None)
            row(f"Check, bins ({label}): HTTP requests", f"{bins.requests:g}", "", "", "<= 10",
                bins.requests <= 10)
            row(f"Check, bins ({label}): peak RSS", mib(bins.rss_mib), "",
                f"{bins.rss_mib / flat.rss_mib:.2f}x flat", "", None)
    if "big" in results:
        big, curl, sha, size, curl_file = results["big"]
        bound = min(curl, sha)
        tp = {w: size / big[w].wall for w in WHO}
        row(f"{size >> 20} MiB target, cold (refresh + download + verify): wall",
            ms(big[u].wall), ms(big[py].wall), x(big[u].wall, big[py].wall), "", None)
        # The target: at least what `curl -o FILE` achieves into the same directory,
        # which stores the file but verifies nothing (and does not fsync it).
        to_file = curl_file[False]
        row(f"{size >> 20} MiB target: throughput (size / wall)", f"{tp[u] / 1e6:,.0f} MB/s",
            f"{tp[py] / 1e6:,.0f} MB/s",
            f"{tp[u] / to_file:.0%} / {tp[py] / to_file:.0%} of `curl -o FILE`",
            f">= `curl -o FILE` into the same directory ({to_file / 1e6:,.0f} MB/s)",
            tp[u] >= to_file)
        row(f"{size >> 20} MiB target: for reference, min(`curl -o /dev/null` {curl / 1e6:,.0f} MB/s, "
            f"sha256 {sha / 1e6:,.0f} MB/s), the transfer and hashing bound without storing",
            f"{tp[u] / bound:.0%} of it", f"{tp[py] / bound:.0%} of it", "", "", None)
        for durable, label in ((True, "`curl -o FILE` + fsync"),):
            row(f"{size >> 20} MiB target: for reference, {label} into the clients' directory "
                f"(no verification): {curl_file[durable] / 1e6:,.0f} MB/s, "
                f"{curl_file[durable] / bound:.0%} of bound",
                f"{tp[u] / curl_file[durable]:.0%} of it", f"{tp[py] / curl_file[durable]:.0%} of it",
                "", "", None)
        row(f"{size >> 20} MiB target: peak RSS", mib(big[u].rss_mib), mib(big[py].rss_mib),
            f"{big[u].rss_mib / big[py].rss_mib:.2f}", "< 32 MiB", big[u].rss_mib < 32)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    n_big = f", {args.big_runs} for the big target" if "big" in results else ""
    lines = [
        "# Benchmarks: updater and python-tuf side by side",
        "",
        "Generated by `bash scripts/bench.sh`; do not edit by hand (run it again).",
        "",
        f"- Date: {now}",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['os']}; "
        f"load average at start {info['load']}",
        f"- Versions: {info['rustc']}; Python {info['python']}, python-tuf {info['tuf']}; "
        f"nginx {info['nginx']}; {info['curl']}; {info['openssl']}",
        f"- Method: whole process, median of {args.runs} runs{n_big}, runs of the two clients "
        "interleaved (cold start and warm refresh after one unmeasured run per client), `sync` "
        "before every run. Wall time from start to exit; peak "
        "RSS of the process (ru_maxrss, via GNU time); HTTP requests counted in nginx's access log. nginx "
        "serves plain HTTP on loopback. `updater` is `updater-cli download` (cold) and "
        "`updater-cli refresh` (warm), release build; `python-tuf` is "
        "`scripts/bench/ngclient_run.py` (ngclient `Updater`: refresh, get_targetinfo, "
        "download_target). Release discovery: `updater-cli check` from the oldest of the "
        "releases, with a fresh data directory (only the trusted root), on repositories made "
        "by `examples/bench_releases.rs` with repo-tool's library (updater only: python-tuf has "
        "no release convention). Cold start: a metadata directory holding only the trusted root. "
        "updater fsyncs every file it stores (metadata and target, then the directory); "
        "python-tuf does not. The machine may be shared: compare rows of one run, and see "
        "the load averages.",
        f"- Repositories (`examples/bench_repos.rs`): consistent snapshots, ed25519 keys, compact "
        f"JSON, sha256 only; flat: {f['targets']:,} targets, targets.json "
        f"{f['targets_json_bytes']:,} bytes; bins: {b['targets']:,} targets in {b['bins']:,} "
        f"succinct hash bins (bit_length {b['bit_length']}), snapshot.json "
        f"{b['snapshot_json_bytes']:,} bytes, largest bin {b['largest_bin_bytes']:,} bytes.",
        "",
        "| Measure | updater | python-tuf | updater vs python-tuf | Target | |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if publish:
        lines += [
            "## repo-tool: publishing",
            "",
            "`cargo bench -p repo-tool --bench publish -- 100000` (in process, wall clock; "
            "\"add\" hashes and stores each target file, \"publish\" signs and writes the "
            "metadata, \"add one\" adds one more target to the published repository and "
            "publishes again):",
            "",
            publish.strip(),
            "",
        ]
    lines += [f"Client benchmarks took {elapsed:,.0f} s; load average at the end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

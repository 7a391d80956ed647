"""Packing from an object store whose every request waits: concurrency against latency.

    python benchmarks/remote.py [--images 1000] [--latency 0.05] [--runs 3]

Starts the S3 test server (moto, on loopback) and a small proxy in front of it that holds
each request for ``--latency`` seconds before passing it on, as a cloud store's round trip
does. Uploads ``--images`` images of the benchmark corpus, then times whole ``tfr pack``
processes reading them through the proxy: one request at a time (``--io-workers 1``) and
the default (32 in flight), interleaved, and writes the medians and their ratio to
``benchmarks/REMOTE.md``. The server's and the proxy's own CPU (the same 2 cores) become the
floor: the default is also timed through a proxy that adds no latency, and straight against
the server, to show where it is.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import os
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import corpus

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))
from s3server import environment, s3_server  # noqa: E402 (the tests' server, started the same way)


class _Delay(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, upstream: tuple[str, int], latency: float) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.latency = latency


class _Forward(http.server.BaseHTTPRequestHandler):
    """Waits, then passes the request to the server and its answer back, whole."""

    protocol_version = "HTTP/1.1"
    server: _Delay

    def _forward(self) -> None:
        time.sleep(self.server.latency)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tfr-bench")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    files = corpus.generate(args.workdir).files[: args.images]
    with s3_server() as endpoint:
        os.environ.update(environment(endpoint))
        import s3fs

        fs = s3fs.S3FileSystem()
        fs.mkdir("bench")
        fs.put([str(p) for p in files], [f"bench/img/{p.name}" for p in files])
        host, port = endpoint.removeprefix("http://").split(":")
        # The proxy is Python on the same 2 cores: one that adds no latency shows its own cost.
        proxies = [_Delay((host, int(port)), latency) for latency in (args.latency, 0.0)]
        for proxy in proxies:
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
        slow, near = (
            {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_address[1]}"}
            for proxy in proxies
        )
        tools = {
            "one request at a time (--io-workers 1)": (["--io-workers", "1"], slow),
            "default (32 in flight)": ([], slow),
            "default, through the proxy with no latency": ([], near),
            "default, straight to the server": ([], dict(os.environ)),
        }
        times: dict[str, list[float]] = {name: [] for name in tools}
        for run in range(args.runs):
            for number, (name, (extra, env)) in enumerate(tools.items()):
                out = f"s3://bench/out/{run}-{number}.tfrecord"
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "tfr", "pack", "s3://bench/img", out, "-q", *extra],
                    env=env,
                    check=True,
                )
                times[name].append(time.perf_counter() - started)
        for proxy in proxies:
            proxy.shutdown()
    serial, concurrent, proxied, floor = (statistics.median(t) for t in times.values())
    # What latency alone would add to the proxied floor, with every request in flight kept full.
    waits = len(files) * args.latency / 32
    lines = [
        "# Packing from an object store with latency",
        "",
        f"Made by `python benchmarks/remote.py` on {time.strftime('%Y-%m-%d')}: {len(files):,} "
        f"images of the benchmark corpus ({sum(p.stat().st_size for p in files) / 1e6:.0f} MB) "
        f"in the S3 test server (moto) on loopback, behind a proxy that holds every request "
        f"{args.latency * 1000:.0f} ms; whole `tfr pack` processes, medians of {args.runs}, "
        f"{os.cpu_count()} cores.",
        "",
        "| reading | median s | runs s |",
        "|---|---|---|",
        *(
            f"| {name} | {statistics.median(t):.2f} | {', '.join(f'{x:.2f}' for x in t)} |"
            for name, t in times.items()
        ),
        "",
        f"Concurrency makes it **{serial / concurrent:.1f}×** faster (target: at least 10×).",
        "",
        f"- Straight to the server, with no proxy, the pack takes {floor:.2f} s: the server's "
        "own work and tfr's, on the same cores, which no concurrency can remove.",
        f"- Through the proxy with no latency it takes {proxied:.2f} s: the proxy (Python, a "
        "thread and a new connection to the server per request) costs the rest of the floor.",
        f"- {len(files):,} requests of {args.latency * 1000:.0f} ms, 32 at a time, add "
        f"{waits:.2f} s at least: {proxied + waits:.2f} s in all, against {concurrent:.2f} s "
        "measured.",
        "",
    ]
    (HERE / "REMOTE.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

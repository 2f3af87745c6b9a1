#!/usr/bin/env python3
"""HTTP serving benchmark against a running `seekd serve`, shaped like `seekd bench-engine` so
the two compare in the same run: N concurrent streaming /v1/completions requests, each with a
distinct random token prompt of --prompt-len ids, greedy, exactly --gen-len tokens (ignore_eos).
Reports aggregate generated tokens/s, TTFT and time-per-output-token percentiles.

  bench/http_bench.py --url http://127.0.0.1:8080 --model m --concurrency 16 \\
                      --prompt-len 128 --gen-len 64 --vocab 151936 [--json]

  bench/http_bench.py --url ... --model m --idle 1000 --pid PID
      opens 1000 keep-alive connections, then 1000 queued streaming requests, and reports the
      server's threads and resident memory before and after (memory per connection).
"""
import argparse
import http.client
import json
import random
import socket
import statistics
import sys
import threading
import time
from urllib.parse import urlparse


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    i = p / 100 * (len(v) - 1)
    lo = int(i)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (i - lo)


def one_request(host, port, model, prompt, gen_len, out):
    c = http.client.HTTPConnection(host, port, timeout=600)
    body = {"model": model, "prompt": prompt, "max_tokens": gen_len, "temperature": 0,
            "stream": True, "ignore_eos": True, "stream_options": {"include_usage": True}}
    t0 = time.perf_counter()
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        out.append({"error": r.status})
        return
    first = last = None
    tokens = 0
    for line in r:
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        j = json.loads(data)
        if j.get("usage"):
            tokens = j["usage"]["completion_tokens"]
        if j["choices"] and (j["choices"][0]["text"] or j["choices"][0]["finish_reason"] is None):
            now = time.perf_counter()
            if first is None:
                first = now
            last = now
    c.close()
    out.append({"ttft": first - t0, "tpot": (last - first) / max(1, tokens - 1), "tokens": tokens})


def level(args, host, port, n, rng):
    out = []
    threads = []
    prompts = [[rng.randrange(args.vocab) for _ in range(args.prompt_len)] for _ in range(n)]
    t0 = time.perf_counter()
    for p in prompts:
        t = threading.Thread(target=one_request, args=(host, port, args.model, p, args.gen_len, out))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = [o for o in out if "error" not in o]
    gen = sum(o["tokens"] for o in ok)
    return {
        "concurrency": n, "wall_s": wall, "tokens_per_s": gen / wall, "errors": len(out) - len(ok),
        "ttft_p50": pct([o["ttft"] for o in ok], 50), "ttft_p90": pct([o["ttft"] for o in ok], 90),
        "ttft_p99": pct([o["ttft"] for o in ok], 99),
        "tpot_p50": pct([o["tpot"] for o in ok], 50), "tpot_p99": pct([o["tpot"] for o in ok], 99),
        "generated": gen,
    }


def proc_status(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, v = line.split(":", 1)
            st[k] = v.strip()
    return int(st["Threads"]), int(st["VmRSS"].split()[0])


def idle(args, host, port):
    # One request first, so the weights are paged in before the baseline.
    out = []
    one_request(host, port, args.model, [1, 2, 3], 2, out)
    base_threads, base_rss = proc_status(args.pid)
    socks = []
    for _ in range(args.idle):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)
        socks.append(s)
    time.sleep(0.5)
    idle_threads, idle_rss = proc_status(args.pid)
    # Streaming requests that wait in the queue behind one long generation.
    long_req = {"model": args.model, "prompt": "x", "max_tokens": 2000, "stream": True,
                "ignore_eos": True}
    blocker = socket.create_connection((host, port))
    body = json.dumps(long_req).encode()
    blocker.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    streams = []
    req = json.dumps({"model": args.model, "prompt": "y", "max_tokens": 4, "stream": True}).encode()
    for s in socks:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(req), req))
        streams.append(s)
    time.sleep(2.0)
    stream_threads, stream_rss = proc_status(args.pid)
    res = {
        "connections": args.idle,
        "threads": {"before": base_threads, "idle_keepalive": idle_threads, "waiting_streams": stream_threads},
        "rss_kib": {"before": base_rss, "idle_keepalive": idle_rss, "waiting_streams": stream_rss},
        "kib_per_idle_connection": (idle_rss - base_rss) / args.idle,
        "kib_per_waiting_stream": (stream_rss - base_rss) / args.idle,
    }
    blocker.close()
    for s in streams:
        s.close()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--concurrency", default="16")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--seed", type=int, default=None, help="prompt seed (default: fresh prompts)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    u = urlparse(args.url)
    host, port = u.hostname, u.port or 80
    if args.idle:
        print(json.dumps(idle(args, host, port), indent=1))
        return
    # Fresh prompts by default: a repeated run must not find its prompts in the prefix cache.
    rng = random.Random(args.seed if args.seed is not None else time.time_ns())
    results = [level(args, host, port, int(n), rng) for n in args.concurrency.split(",")]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print("conc  tok/s    TTFT p50/p90/p99 (s)     TPOT p50/p99 (ms)  errors")
    for r in results:
        print(f"{r['concurrency']:>4}  {r['tokens_per_s']:7.1f}  {r['ttft_p50']:.3f}/{r['ttft_p90']:.3f}/{r['ttft_p99']:.3f}"
              f"       {r['tpot_p50']*1e3:6.1f}/{r['tpot_p99']*1e3:6.1f}      {r['errors']}")


if __name__ == "__main__":
    sys.exit(main())

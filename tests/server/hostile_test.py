"""Hostile clients against the real `seekd serve` on 127.0.0.1: headers a byte at a time, a
100 MB body, invalid UTF-8, deeply nested JSON, garbage instead of HTTP, a thousand parallel
connections, a client that leaves mid-stream, and SIGTERM with a stream running. Each gets a
clear status or is cut off, and the server keeps serving the others.

Run by ctest (server.hostile), which sets SEEKD_BIN, SEEKD_TEST_TMP and SEEKD_TOKENIZER_DIR.
"""
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import threading
import time
import unittest

BIN = os.environ.get("SEEKD_BIN", "build/seekd")
TMP = os.environ.get("SEEKD_TEST_TMP", "/tmp/seekd-hostile-test")
TOK = os.environ.get("SEEKD_TOKENIZER_DIR", "")


def start_server(*args):
    proc = subprocess.Popen([BIN, "serve", "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on http://([0-9.]+):(\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("server did not start: " + line + proc.stderr.read())
    return proc, m.group(1), int(m.group(2))


def raw(host, port, data, timeout=10.0, chunks=None, delay=0.0):
    """Sends bytes (optionally in pieces with a delay) and returns the whole answer."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        for piece in (chunks or [data]):
            s.sendall(piece)
            if delay:
                time.sleep(delay)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status_of(answer):
    m = re.match(rb"HTTP/1\.1 (\d+)", answer)
    return int(m.group(1)) if m else None


def body_of(answer):
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            raise unittest.SkipTest("needs SEEKD_TOKENIZER_DIR (run through ctest)")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        os.makedirs(TMP, exist_ok=True)
        cls.model = os.path.join(TMP, "tiny.gguf")
        subprocess.run([BIN, "make-model", "--out", cls.model, "--tokenizer", TOK, "--layers", "2"],
                       check=True, capture_output=True)
        cls.proc, cls.host, cls.port = start_server(
            "--model", "tiny=" + cls.model, "--threads", "1", "--max-body", "1MiB",
            "--keepalive-interval", "1")

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=30)

    def chat(self, max_tokens=4, stream=False):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        body = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": max_tokens, "temperature": 0, "stream": stream}
        c.request("POST", "/v1/chat/completions", json.dumps(body),
                  {"Content-Type": "application/json"})
        return c, c.getresponse()

    def assert_still_serving(self):
        c, r = self.chat()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())["usage"]["completion_tokens"], 4)
        c.close()

    def test_headers_a_byte_at_a_time(self):
        req = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        out = raw(self.host, self.port, req, chunks=[bytes([b]) for b in req], delay=0.005)
        self.assertEqual(status_of(out), 200)
        self.assertEqual(body_of(out), {"status": "ok"})

    def test_huge_body_is_refused_before_it_is_read(self):
        # 100 MB announced: the answer comes after the headers alone.
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 104857600\r\n\r\n")
        s = socket.create_connection((self.host, self.port), timeout=10)
        s.sendall(head + b"{" * 1000)
        out = s.recv(65536)
        s.close()
        self.assertEqual(status_of(out), 413)
        self.assertEqual(body_of(out)["error"]["code"], "request_too_large")
        # Chunked, with no length announced: cut off once it passes the limit.
        s = socket.create_connection((self.host, self.port), timeout=10)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
        answer = b""
        try:
            for _ in range(64):
                s.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = s.recv(65536)
        except ConnectionResetError:
            pass
        s.close()
        if answer:
            self.assertEqual(status_of(answer), 413)
        self.assert_still_serving()

    def test_invalid_utf8_and_malformed_json(self):
        for body in [b'{"model": "tiny", "messages": [{"role": "user", "content": "\xff\xfe bad"}]}',
                     b'{"model": "tiny", "messages": [',
                     b'[1, 2, 3]',
                     b'{"model": "tiny", "messages": "hello"}',
                     b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}',
                     b'{"model": "tiny", "messages": [{"role": "user", "content": [{"type": 1, "text": "x"}]}]}',
                     b'{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": 3}}',
                     b'{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": [], "function": {}}]}',
                     b'{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "stop": [1]}']:
            c = http.client.HTTPConnection(self.host, self.port, timeout=10)
            c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            err = json.loads(r.read())["error"]
            self.assertIn(r.status, (400, 422), body)
            self.assertTrue(err["message"])
            self.assertIn("type", err)
            c.close()
        # Wrongly typed fields on the other routes are client errors too, never a 500.
        for path, body in [("/tokenize", b'{"model": 1, "prompt": "x"}'),
                           ("/tokenize", b'{"model": "tiny", "prompt": 7}'),
                           ("/tokenize", b'{"model": "tiny", "prompt": "x", "add_special_tokens": "yes"}'),
                           ("/detokenize", b'{"model": "tiny", "tokens": ["a"]}')]:
            c = http.client.HTTPConnection(self.host, self.port, timeout=10)
            c.request("POST", path, body)
            r = c.getresponse()
            r.read()
            self.assertIn(r.status, (200, 400, 404, 422), (path, body))
            c.close()
        self.assert_still_serving()

    def test_deeply_nested_json(self):
        body = b'{"model": "tiny", "messages": ' + b"[" * 200000 + b"]" * 200000 + b"}"
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn("nests deeper", json.loads(r.read())["error"]["message"])
        c.close()
        self.assert_still_serving()

    def test_garbage_instead_of_http(self):
        out = raw(self.host, self.port, b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")
        self.assertIn(status_of(out), (400, None))
        out = raw(self.host, self.port, b"GET /health HTTP/1.1\r\n" + b"X-Big: " + b"a" * 100000 + b"\r\n\r\n")
        self.assertIn(status_of(out), (431, 400, None))
        self.assert_still_serving()

    def test_unknown_route_and_method(self):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request("GET", "/v1/nothing")
        r = c.getresponse()
        self.assertEqual(r.status, 404)
        self.assertEqual(json.loads(r.read())["error"]["code"], "not_found")
        c.request("GET", "/v1/chat/completions")  # same keep-alive connection
        r = c.getresponse()
        self.assertEqual(r.status, 405)
        r.read()
        c.close()

    def test_a_thousand_parallel_connections(self):
        socks = []
        try:
            for _ in range(1000):
                socks.append(socket.create_connection((self.host, self.port), timeout=30))
            for s in socks:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            ok = 0
            for s in socks:
                data = s.recv(4096)
                if status_of(data) == 200:
                    ok += 1
            self.assertEqual(ok, 1000)
            # Idle keep-alive connections cost no thread: generation still works meanwhile.
            self.assert_still_serving()
        finally:
            for s in socks:
                s.close()

    def test_client_that_leaves_mid_stream_is_cancelled(self):
        c, r = self.chat(max_tokens=1500, stream=True)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        r.fp.readline()  # the first chunk size line
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            c2 = http.client.HTTPConnection(self.host, self.port, timeout=10)
            c2.request("GET", "/ready")
            st = json.loads(c2.getresponse().read())
            c2.close()
            eng = st["models"][0]["engine"]
            if st["active_requests"] == 0 and eng["running"] == 0:
                break
            time.sleep(0.05)
        self.assertEqual(st["active_requests"], 0)
        self.assertEqual(eng["running"], 0)

    def test_sigterm_lets_a_running_stream_finish(self):
        proc, host, port = start_server("--model", "tiny=" + self.model, "--threads", "1")
        try:
            c = http.client.HTTPConnection(host, port, timeout=30)
            body = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
                    "max_tokens": 60, "temperature": 0, "stream": True}
            c.request("POST", "/v1/chat/completions", json.dumps(body))
            r = c.getresponse()
            first = r.readline()
            self.assertTrue(first)
            proc.send_signal(signal.SIGTERM)
            rest = r.read().decode()
            self.assertIn("data: [DONE]", rest)
            self.assertIn('"finish_reason":"length"', rest)
            self.assertEqual(proc.wait(timeout=30), 0)
            with self.assertRaises(OSError):
                socket.create_connection((host, port), timeout=2)
        finally:
            if proc.poll() is None:
                proc.kill()

    def test_admin_load_and_unload(self):
        proc, host, port = start_server("--model", "a=" + self.model, "--threads", "1",
                                        "--admin-token", "adm")
        try:
            def call(method, path, body=None, token=None):
                c = http.client.HTTPConnection(host, port, timeout=60)
                headers = {"Authorization": "Bearer " + token} if token else {}
                c.request(method, path, json.dumps(body) if body is not None else None, headers)
                r = c.getresponse()
                out = json.loads(r.read())
                c.close()
                return r.status, out

            self.assertEqual(call("POST", "/admin/models", {"name": "b", "path": self.model})[0], 401)
            st, out = call("POST", "/admin/models", {"name": "b", "path": self.model}, "adm")
            self.assertEqual((st, out), (200, {"loaded": "b"}))
            st, out = call("POST", "/admin/models", {"name": "c", "path": "/nonexistent.gguf"}, "adm")
            self.assertIn(st, (404, 500))
            self.assertIn("nonexistent", out["error"]["message"])
            self.assertEqual(sorted(m["id"] for m in call("GET", "/v1/models")[1]["data"]), ["a", "b"])
            chat = {"model": "b", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
            self.assertEqual(call("POST", "/v1/chat/completions", chat)[0], 200)
            self.assertEqual(call("DELETE", "/admin/models/b", token="adm"), (200, {"unloaded": "b"}))
            st, out = call("POST", "/v1/chat/completions", chat)
            self.assertEqual((st, out["error"]["code"]), (404, "model_not_found"))
            self.assertEqual(call("DELETE", "/admin/models/b", token="adm")[0], 404)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        # Without an admin token the admin routes do not exist.
        st = raw(self.host, self.port, b"POST /admin/models HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 b"Connection: close\r\n\r\n{}")
        self.assertEqual(status_of(st), 404)

    def test_keepalive_comments_while_queued_and_request_timeout(self):
        proc, host, port = start_server("--model", "a=" + self.model, "--threads", "1", "--max-seqs", "1",
                                        "--keepalive-interval", "1", "--request-timeout", "3")
        try:
            def stream(max_tokens):
                c = http.client.HTTPConnection(host, port, timeout=60)
                body = {"model": "a", "prompt": "x", "max_tokens": max_tokens, "stream": True,
                        "ignore_eos": True}
                c.request("POST", "/v1/completions", json.dumps(body))
                return c, c.getresponse()

            c1, long = stream(4000)     # holds the only running slot past the timeout
            long.readline()
            c2, queued = stream(2)      # waits behind it
            t0 = time.time()
            first = queued.readline()
            self.assertEqual(first, b": keep-alive\n", first)
            self.assertLess(time.time() - t0, 2.5)
            rest = long.read().decode()
            self.assertIn('"code":"timeout"', rest)   # cut at --request-timeout, as an SSE error
            self.assertTrue(rest.rstrip().endswith("data: [DONE]"))
            self.assertIn("data: [DONE]", queued.read().decode())
            c1.close()
            c2.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


class ConfigTest(unittest.TestCase):
    """Options from a TOML file and SEEKD_* variables; the command line wins over both."""

    def test_toml_env_and_flags(self):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            self.skipTest("needs SEEKD_TOKENIZER_DIR")
        os.makedirs(TMP, exist_ok=True)
        model = os.path.join(TMP, "cfg.gguf")
        subprocess.run([BIN, "make-model", "--out", model, "--tokenizer", TOK, "--layers", "1"],
                       check=True, capture_output=True)
        cfg = os.path.join(TMP, "seekd.toml")
        with open(cfg, "w") as f:
            f.write('model = ["m=%s"]\nthreads = 1\napi_key = ["from-file"]\nmax_queue = 7\n' % model)
        env = dict(os.environ, SEEKD_CONFIG=cfg, SEEKD_API_KEY="from-env")
        proc = subprocess.Popen([BIN, "serve", "--port", "0", "--max-body", "1KiB"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            m = re.search(r"listening on http://([0-9.]+):(\d+) \(models: m\)", proc.stdout.readline())
            self.assertTrue(m)
            host, port = m.group(1), int(m.group(2))

            def get(key):
                c = http.client.HTTPConnection(host, port, timeout=10)
                c.request("GET", "/v1/models", headers={"Authorization": "Bearer " + key})
                r = c.getresponse()
                r.read()
                c.close()
                return r.status

            self.assertEqual(get("from-env"), 200)   # the environment wins over the file
            self.assertEqual(get("from-file"), 401)
            c = http.client.HTTPConnection(host, port, timeout=10)
            c.request("POST", "/v1/chat/completions", "x" * 2000, {"Authorization": "Bearer from-env"})
            self.assertEqual(c.getresponse().status, 413)  # --max-body from the command line
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        bad = os.path.join(TMP, "bad.toml")
        with open(bad, "w") as f:
            f.write("prot = 1\n")
        p = subprocess.run([BIN, "serve", "--config", bad], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown keys: prot", p.stderr)


class RateLimitTest(unittest.TestCase):
    """--rate-limit-rpm: each key its own bucket; the 429 in OpenAI's shape with Retry-After
    and retry-after-ms; counted in seekd_rate_limit_rejections_total; the bucket refills."""

    def test_per_key_limit(self):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            self.skipTest("needs SEEKD_TOKENIZER_DIR")
        os.makedirs(TMP, exist_ok=True)
        model = os.path.join(TMP, "rl.gguf")
        subprocess.run([BIN, "make-model", "--out", model, "--tokenizer", TOK, "--layers", "1"],
                       check=True, capture_output=True)
        proc, host, port = start_server("--model", "m=" + model, "--threads", "1",
                                        "--api-key", "ka,kb", "--rate-limit-rpm", "120")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=10)

            def get(key, path="/v1/models"):
                conn.request("GET", path, headers={"Authorization": "Bearer " + key})
                r = conn.getresponse()
                return r.status, dict(r.getheaders()), r.read()

            statuses = [get("ka")[0] for _ in range(120)]
            self.assertEqual(statuses, [200] * 120)  # a minute's worth at once
            status, headers, body = get("ka")
            self.assertEqual(status, 429)
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], "rate_limit_exceeded")
            self.assertEqual(err["type"], "rate_limit_error")
            self.assertEqual(headers["Retry-After"], "1")
            self.assertLessEqual(int(headers["retry-after-ms"]), 500)
            self.assertEqual(get("kb")[0], 200)               # another key, its own bucket
            self.assertEqual(get("ka", "/metrics")[0], 200)  # scrapes are never limited
            _, _, metrics = get("kb", "/metrics")
            m = re.search(rb"seekd_rate_limit_rejections_total (\d+)", metrics)
            self.assertTrue(m and int(m.group(1)) >= 1, metrics[-400:])
            time.sleep(int(headers["retry-after-ms"]) / 1000 + 0.05)
            self.assertEqual(get("ka")[0], 200)               # refilled at 2 per second
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()

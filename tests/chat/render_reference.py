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
SEEKD_WRITTEN = __import__("os").path.join(__import__("os").path.dirname(__file__), "seekd-written")

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


def tool_call(rng, i):
    name = rng.choice(["get_weather", "search", "calc"])
    args = rng.choice(['{"city": "Paris"}', '{"q": "deepseek", "n": 3}', '{}', '{"text": "line1\\nline2 \\"q\\" 中文"}'])
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}


def conversation(rng, tools=True):
    msgs = []
    n_sys = rng.choice([0, 0, 1, 1, 2])
    for _ in range(n_sys):
        msgs.append({"role": "system", "content": rng.choice(TEXTS)})
    call_id = 0
    for turn in range(rng.randint(1, 4)):
        if turn and rng.random() < 0.1:
            msgs.append({"role": "system", "content": rng.choice(TEXTS)})
        msgs.append({"role": "user", "content": rng.choice(TEXTS)})
        if tools and rng.random() < 0.3:
            calls = [tool_call(rng, call_id + k) for k in range(rng.randint(1, 3))]
            call_id += len(calls)
            msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
            for c in calls:
                msgs.append({"role": "tool", "tool_call_id": c["id"], "content": rng.choice(TEXTS + ['{"temp": 21}'])})
            if rng.random() < 0.7:
                msgs.append({"role": "assistant", "content": rng.choice(TEXTS + THINKS)})
        elif rng.random() < 0.8:
            msgs.append({"role": "assistant", "content": rng.choice(TEXTS + THINKS)})
    if rng.random() < 0.15 and msgs[-1]["role"] == "assistant":
        msgs.pop()
    if rng.random() < 0.1:  # content as text parts: seekd joins them before rendering
        for m in msgs:
            if m["role"] == "user":
                m["content"] = [{"type": "text", "text": m["content"]}, {"type": "text", "text": "!"}]
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
        made = 0
        while made < per_template:
            msgs = conversation(rng, tools=name not in ("deepseek-llm", "deepseek-coder"))
            if name == "qwen2.5" and msgs[0]["role"] != "system" and any(m["role"] == "system" for m in msgs):
                pass  # a later system message is rendered in place: keep these cases
            case = {"template": name, "messages": msgs, "add_generation_prompt": rng.random() < 0.7}
            variables = {"messages": joined(msgs), "add_generation_prompt": case["add_generation_prompt"],
                         "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}
            if name == "llama-3.1":
                # One call per assistant turn is all this template accepts.
                for m in msgs:
                    if m.get("tool_calls"):
                        m["tool_calls"] = m["tool_calls"][:1]
                variables["messages"] = joined(msgs)
                case["bos_token"] = variables["bos_token"] = "<|begin_of_text|>"
                if rng.random() < 0.5:
                    case["date_string"] = variables["date_string"] = rng.choice(["28 Nov 2026", "1 Jan 2025"])
                first = next((m for m in msgs if m["role"] != "system"), None)
                if rng.random() < 0.4 and first is not None and first["role"] == "user" and msgs.index(first) <= 1:
                    case["tools"] = TOOLS[: rng.randint(1, 2)]
                    variables["tools"] = case["tools"]
            if name == "qwen2.5" and rng.random() < 0.5:
                case["tools"] = TOOLS[: rng.randint(1, 2)]
                variables["tools"] = case["tools"]
            if name == "deepseek-r1-distill-qwen" and rng.random() < 0.6:
                case["thinking"] = rng.random() < 0.5
                variables["enable_thinking"] = case["thinking"]
            if name == "deepseek-v3.1":
                if rng.random() < 0.7:
                    case["thinking"] = rng.random() < 0.5
                    variables["thinking" if rng.random() < 0.5 else "enable_thinking"] = case["thinking"]
                last = msgs[-1]
                if last["role"] == "assistant" and last.get("content") is not None and rng.random() < 0.5:
                    last["prefix"] = True  # DeepSeek prefix completion
                    variables["messages"] = joined(msgs)
            case["expected"] = template.render(**variables)
            cases.append(case)
            made += 1
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
    print(f"rendered {len(cases)} reference cases for {len(TEMPLATES)} templates")


if __name__ == "__main__":
    main()

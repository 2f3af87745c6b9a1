#include "server/generation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <mutex>
#include <random>

#include "api/responses.h"
#include "chat/reasoning.h"
#include "chat/tool_calls.h"
#include "tokenizer/unicode.h"

namespace seekd::server {

using api::ojson;

namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Events from engine threads; shared with the callbacks so it outlives the job if needed.
struct Inbox {
  std::mutex mu;
  std::deque<std::pair<int, engine::Event>> events;  // choice index, event
  std::function<void()> notify;
};

struct Choice {
  uint64_t engine_id = 0;
  bool running = false;
  bool finished = false;
  std::string finish_reason;
  Status error;
  chat::ReasoningSplitter split;
  std::string content, reasoning;
  int32_t prompt_tokens = 0, cached = 0, completion = 0, reasoning_tokens = 0;
  double queue_s = 0, prefill_s = 0, ttft_s = -1, total_s = 0;
  std::vector<api::TokenLogprob> logprobs;
  bool sent_role = false;
  std::optional<chat::ToolCallParser> tools;  // when the request offers tools
  struct Call {
    std::string id, name, arguments;
  };
  std::vector<Call> calls;
  std::string prefix;  // echo: the prompt text, sent before the generated text
  int prompt_index = 0;
};

}  // namespace

struct Job::Impl {
  std::shared_ptr<ModelEntry> model;
  bool chat = true;
  bool stream = false, include_usage = false;
  int32_t logprobs = -1;
  std::string id, fingerprint;
  int64_t created = 0;
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  std::vector<Choice> choices;
  int n_done = 0;
  bool done_sent = false;
  bool roles_sent = false;
  int32_t prompt_tokens_total = 0;
  std::vector<engine::Request::JsonAlternative> json;  // constrained output (JSON mode, tools)
  std::string json_param;                              // the field a constraint error names

  api::TokenLogprob Logprob(const engine::Event& e) const {
    api::TokenLogprob t;
    t.bytes = model->tok->TokenBytes(e.token);
    t.logprob = e.logprob;
    for (const auto& a : e.top_logprobs)
      t.top.emplace_back(model->tok->TokenBytes(a.token), a.logprob);
    return t;
  }

  ojson Head(const char* object) const {
    ojson j;
    j["id"] = id;
    j["object"] = object;
    j["created"] = created;
    j["model"] = model->name;
    j["system_fingerprint"] = fingerprint;
    return j;
  }

  api::Usage Usage() const {
    api::Usage u;
    // Prompts are counted once per prompt (n choices share one), completions per choice.
    u.prompt_tokens = prompt_tokens_total;
    std::vector<bool> seen;
    for (const Choice& c : choices) {
      u.completion_tokens += c.completion;
      u.reasoning_tokens += c.reasoning_tokens;
    }
    for (const Choice& c : choices) {
      if (static_cast<size_t>(c.prompt_index) >= seen.size()) seen.resize(c.prompt_index + 1);
      if (seen[c.prompt_index]) continue;
      seen[c.prompt_index] = true;
      u.cached_tokens += c.cached;
    }
    return u;
  }

  // Submits one engine request for choice `i`.
  std::optional<api::ApiError> Submit(int i, std::vector<int32_t> prompt,
                                      const api::GenerationFields& g, uint64_t seed,
                                      uint64_t group = 0) {
    engine::Request r;
    r.group = group;
    r.prompt = std::move(prompt);
    // Under a KV window a request may run past the context: sinks + recent tokens are kept.
    const int64_t room = model->windowed ? std::numeric_limits<int32_t>::max()
                                         : model->ctx - static_cast<int64_t>(r.prompt.size());
    if (room < 1)
      return api::ApiError{400, "invalid_request_error",
                           "This model's maximum context length is " + std::to_string(model->ctx) +
                               " tokens; the prompt has " + std::to_string(r.prompt.size()),
                           "messages", "context_length_exceeded"};
    const int64_t max_tokens = g.max_tokens.value_or(model->windowed ? model->ctx : room);
    if (max_tokens > room)
      return api::ApiError{400, "invalid_request_error",
                           "This model's maximum context length is " + std::to_string(model->ctx) +
                               " tokens; the prompt has " + std::to_string(r.prompt.size()) +
                               " and max_tokens asks for " + std::to_string(max_tokens),
                           "max_tokens", "context_length_exceeded"};
    r.max_tokens = static_cast<int32_t>(max_tokens);
    engine::SamplingParams& s = r.sampling;
    if (g.temperature) s.temperature = static_cast<float>(*g.temperature);
    if (g.top_p) s.top_p = static_cast<float>(*g.top_p);
    if (g.min_p) s.min_p = static_cast<float>(*g.min_p);
    if (g.top_k) s.top_k = static_cast<int32_t>(*g.top_k);
    if (g.frequency_penalty) s.frequency_penalty = static_cast<float>(*g.frequency_penalty);
    if (g.presence_penalty) s.presence_penalty = static_cast<float>(*g.presence_penalty);
    if (g.repetition_penalty) s.repetition_penalty = static_cast<float>(*g.repetition_penalty);
    s.logit_bias = g.logit_bias;
    s.seed = seed;
    if (!g.ignore_eos || !json.empty()) r.stop_tokens = model->stop_tokens;
    r.stop_strings = g.stop;
    r.detokenizer = &*model->tok;
    r.logprobs = g.logprobs;
    r.json = json;
    choices[static_cast<size_t>(i)].prompt_tokens = static_cast<int32_t>(r.prompt.size());
    std::shared_ptr<Inbox> inbox = this->inbox;
    auto res = model->engine->Submit(std::move(r), [inbox, i](const engine::Event& e) {
      std::function<void()> notify;
      {
        std::lock_guard<std::mutex> lock(inbox->mu);
        inbox->events.emplace_back(i, e);
        notify = inbox->notify;
      }
      if (notify) notify();
    });
    if (!res.ok()) {
      std::string param;
      if (res.status().code() == StatusCode::kInvalidArgument) {
        const std::string& m = res.status().message();
        for (const char* f : {"temperature", "top_p", "top_k", "min_p", "logit_bias",
                              "frequency_penalty", "presence_penalty", "repetition_penalty"})
          if (m.find(f) != std::string::npos) param = f;
        if (param.empty() && !json.empty()) param = json_param;
      }
      return api::FromStatus(res.status(), param);
    }
    choices[static_cast<size_t>(i)].engine_id = *res;
    choices[static_cast<size_t>(i)].running = true;
    return std::nullopt;
  }

  void CancelAll() {
    for (Choice& c : choices)
      if (c.running && !c.finished) model->engine->Cancel(c.engine_id);
  }

  // The chunk for one choice's new text (chat or completion), or null when there is nothing.
  std::optional<ojson> Chunk(int i, const std::string& reasoning, const std::string& content,
                             const std::vector<api::TokenLogprob>& lps, const char* finish,
                             const std::vector<chat::ToolCallDelta>& calls = {}) {
    Choice& c = choices[static_cast<size_t>(i)];
    ojson ch;
    ch["index"] = i;
    if (chat) {
      ojson delta = ojson::object();
      if (!c.sent_role) {
        delta["role"] = "assistant";
        delta["content"] = "";
        c.sent_role = true;
      }
      if (!reasoning.empty()) {
        delta["content"] = nullptr;
        delta["reasoning_content"] = reasoning;
      }
      if (!content.empty()) delta["content"] = content;
      if (!calls.empty()) {
        ojson tc = ojson::array();
        for (const auto& d : calls) {
          ojson one;
          one["index"] = d.index;
          if (!d.name.empty()) {
            one["id"] = c.calls[static_cast<size_t>(d.index)].id;
            one["type"] = "function";
            one["function"] = {{"name", d.name}, {"arguments", d.arguments}};
          } else {
            one["function"] = {{"arguments", d.arguments}};
          }
          tc.push_back(std::move(one));
        }
        delta["tool_calls"] = std::move(tc);
      }
      if (delta.empty() && lps.empty() && !finish) return std::nullopt;
      ch["delta"] = std::move(delta);
      ch["logprobs"] = lps.empty() ? ojson() : api::ChatLogprobs(lps);
    } else {
      if (content.empty() && lps.empty() && !finish) return std::nullopt;
      ch["text"] = content;
      ch["logprobs"] = lps.empty() ? ojson() : api::CompletionLogprobs(lps, 0);
    }
    ch["finish_reason"] = finish ? ojson(finish) : ojson();
    ojson j = Head(chat ? "chat.completion.chunk" : "text_completion");
    j["choices"] = ojson::array({std::move(ch)});
    if (include_usage) j["usage"] = nullptr;
    return j;
  }

  static std::string ApiFinish(const Choice& c) {
    const std::string& r = c.finish_reason;
    if (r == "stop" && !c.calls.empty()) return "tool_calls";
    return r == "cancelled" ? "length" : r;  // a cut-short choice reads as truncated
  }

  std::string Handle(int i, const engine::Event& e) {
    Choice& c = choices[static_cast<size_t>(i)];
    std::string out;
    std::string r, t;
    if (chat) {
      const bool was_reasoning = c.split.in_reasoning();
      c.split.Push(e.text, &r, &t);
      if (e.kind == engine::Event::Kind::kFinish) {
        std::string r2, t2;
        c.split.Flush(&r2, &t2);
        r += r2;
        t += t2;
      } else if (was_reasoning || !r.empty()) {
        ++c.reasoning_tokens;
      }
    } else {
      t = e.text;
    }
    if (!c.prefix.empty()) {
      t = c.prefix + t;
      c.prefix.clear();
    }
    std::vector<chat::ToolCallDelta> deltas;
    if (c.tools) {
      std::string plain;
      c.tools->Push(t, &plain, &deltas);
      if (e.kind == engine::Event::Kind::kFinish) c.tools->Flush(&plain, &deltas);
      t = std::move(plain);
      for (const auto& d : deltas) {
        if (!d.name.empty()) c.calls.push_back({api::NewId("call"), d.name, ""});
        c.calls[static_cast<size_t>(d.index)].arguments += d.arguments;
      }
    }
    c.reasoning += r;
    c.content += t;
    std::vector<api::TokenLogprob> lps;
    if (e.kind == engine::Event::Kind::kToken && logprobs >= 0) {
      lps.push_back(Logprob(e));
      c.logprobs.push_back(lps.back());
    }
    if (e.kind == engine::Event::Kind::kFinish) {
      c.finished = true;
      c.finish_reason = e.finish_reason;
      c.error = e.error;
      c.cached = e.cached_prompt_tokens;
      c.completion = e.completion_tokens;
      c.queue_s = e.queue_s;
      c.prefill_s = e.prefill_s;
      c.ttft_s = e.ttft_s;
      c.total_s = e.total_s;
      ++n_done;
    }
    if (!stream) return out;
    if (auto j = Chunk(i, r, t, lps, nullptr, deltas)) out += api::SseData(*j);
    if (e.kind == engine::Event::Kind::kFinish) {
      if (c.finish_reason == "error") {
        out += api::SseData(api::ServerError(c.error.message()).ToJson());
      } else {
        const std::string f = ApiFinish(c);
        out += api::SseData(*Chunk(i, "", "", {}, f.c_str()));
      }
    }
    return out;
  }
};

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Job::~Job() {
  {
    std::lock_guard<std::mutex> lock(impl_->inbox->mu);
    impl_->inbox->notify = nullptr;
  }
  impl_->CancelAll();
}

bool Job::stream() const { return impl_->stream; }
bool Job::done() const {
  return impl_->n_done == static_cast<int>(impl_->choices.size()) &&
         (!impl_->stream || impl_->done_sent);
}
void Job::Cancel() { impl_->CancelAll(); }

std::string Job::Poll() {
  std::deque<std::pair<int, engine::Event>> events;
  {
    std::lock_guard<std::mutex> lock(impl_->inbox->mu);
    events.swap(impl_->inbox->events);
  }
  std::string out;
  if (impl_->stream && impl_->chat && !impl_->roles_sent) {
    // The role comes first, on its own, as soon as the request is accepted.
    for (size_t i = 0; i < impl_->choices.size(); ++i)
      out += api::SseData(*impl_->Chunk(static_cast<int>(i), "", "", {}, nullptr));
    impl_->roles_sent = true;
  }
  for (const auto& [i, e] : events) out += impl_->Handle(i, e);
  if (impl_->stream && !impl_->done_sent &&
      impl_->n_done == static_cast<int>(impl_->choices.size())) {
    if (impl_->include_usage) {
      ojson j = impl_->Head(impl_->chat ? "chat.completion.chunk" : "text_completion");
      j["choices"] = ojson::array();
      j["usage"] = impl_->Usage().ToJson();
      out += api::SseData(j);
    }
    out += api::kSseDone;
    impl_->done_sent = true;
  }
  return out;
}

Job::Summary Job::summary() const {
  const Impl& m = *impl_;
  Summary s;
  s.model = m.model->name;
  const api::Usage u = m.Usage();
  s.prompt_tokens = u.prompt_tokens;
  s.cached_tokens = u.cached_tokens;
  s.completion_tokens = u.completion_tokens;
  if (!m.choices.empty()) {
    const Choice& c = m.choices.front();
    s.queue_s = c.queue_s;
    s.prefill_s = c.prefill_s;
    s.ttft_s = c.ttft_s;
    s.total_s = c.total_s;
    s.first_completion_tokens = c.completion;
    s.finish_reason = c.finished ? Impl::ApiFinish(c) : "";
  }
  for (const Choice& c : m.choices) s.error = s.error || c.finish_reason == "error";
  return s;
}

std::string Job::StreamError(const api::ApiError& e) const {
  return api::SseData(e.ToJson()) + std::string(api::kSseDone);
}

std::string Job::Body() const {
  const Impl& m = *impl_;
  for (const Choice& c : m.choices)
    if (c.finish_reason == "error") return api::ServerError(c.error.message()).Body();
  ojson j = m.Head(m.chat ? "chat.completion" : "text_completion");
  ojson choices = ojson::array();
  for (size_t i = 0; i < m.choices.size(); ++i) {
    const Choice& c = m.choices[i];
    ojson ch;
    ch["index"] = i;
    if (m.chat) {
      ojson msg;
      msg["role"] = "assistant";
      // With tool calls and no text, content is null (as OpenAI and DeepSeek answer).
      const bool blank = std::all_of(c.content.begin(), c.content.end(),
                                     [](char ch) { return ch == ' ' || ch == '\n'; });
      msg["content"] = !c.calls.empty() && blank ? ojson() : ojson(c.content);
      if (!c.reasoning.empty()) msg["reasoning_content"] = c.reasoning;
      if (!c.calls.empty()) {
        ojson tc = ojson::array();
        for (const auto& call : c.calls)
          tc.push_back({{"id", call.id},
                        {"type", "function"},
                        {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        msg["tool_calls"] = std::move(tc);
      }
      ch["message"] = std::move(msg);
      ch["logprobs"] = m.logprobs >= 0 ? api::ChatLogprobs(c.logprobs) : ojson();
    } else {
      ch["text"] = c.content;
      ch["logprobs"] = m.logprobs >= 0 ? api::CompletionLogprobs(c.logprobs, 0) : ojson();
    }
    ch["finish_reason"] = Impl::ApiFinish(c);
    choices.push_back(std::move(ch));
  }
  j["choices"] = std::move(choices);
  j["usage"] = m.Usage().ToJson();
  return api::Dump(j);
}

api::ApiResult<std::string> RenderChatPrompt(const ModelEntry& model, const api::ChatRequest& req,
                                             bool* opens_reasoning) {
  if (!model.tmpl)
    return api::InvalidParam("model", "The model " + model.name +
                                          " has no supported chat template; use /v1/completions");
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.bos_token = model.bos;
  ro.eos_token = model.eos;
  ro.thinking = req.thinking;
  if (req.tools && !(req.tool_choice.is_string() && req.tool_choice == "none"))
    ro.tools = *req.tools;
  auto text = chat::Render(*model.tmpl, req.messages, ro);
  if (!text.ok()) return api::InvalidParam("messages", text.status().message());
  if (opens_reasoning) *opens_reasoning = chat::PromptOpensReasoning(*text);
  return *text;
}

namespace {
// tool_choice "required" or {"type": "function", "function": {"name": N}}: the answer must be a
// call, written in the template's own format, whose arguments match the function's parameters.
// Replaces *json with one alternative per allowed function.
std::optional<api::ApiError> ForcedToolCall(const ModelEntry& model, const api::ChatRequest& req,
                                            std::vector<engine::Request::JsonAlternative>* json) {
  const auto& tc = req.tool_choice;
  const bool required = tc.is_string() && tc == "required";
  const bool named = tc.is_object();
  if (!required && !named) return std::nullopt;
  if (!req.tools) return api::InvalidParam("tool_choice", "tool_choice needs tools");
  std::string want;
  if (named) {
    const auto f = tc.find("function");
    if (f == tc.end() || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
      return api::InvalidParam("tool_choice",
                               "tool_choice must be {\"type\": \"function\", \"function\": "
                               "{\"name\": ...}}");
    want = (*f)["name"].get<std::string>();
  }
  const chat::ToolFormat format =
      model.tmpl ? chat::ToolFormatFor(*model.tmpl) : chat::ToolFormat::kNone;
  if (format == chat::ToolFormat::kNone)
    return api::InvalidParam(
        "tool_choice", "The model " + model.name + "'s chat template has no tool-call format");
  json->clear();
  for (const auto& t : *req.tools) {
    const auto& fn = t["function"];
    const std::string name = fn["name"].is_string() ? fn["name"].get<std::string>() : "";
    if (named && name != want) continue;
    engine::Request::JsonAlternative a;
    if (fn.contains("parameters") && fn["parameters"].is_object())
      a.schema = fn["parameters"].dump();
    switch (format) {
      case chat::ToolFormat::kDeepSeekV3:
        a.prefix = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>" + name +
                   "\n```json\n";
        a.suffix = "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        break;
      case chat::ToolFormat::kDeepSeekV31:
        a.prefix = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>" + name + "<｜tool▁sep｜>";
        a.suffix = "<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        break;
      case chat::ToolFormat::kQwen:
        a.prefix = "<tool_call>\n{\"name\": " + nlohmann::json(name).dump() + ", \"arguments\": ";
        a.suffix = "}\n</tool_call>";
        break;
      case chat::ToolFormat::kNone:
        break;
    }
    json->push_back(std::move(a));
  }
  if (json->empty())
    return api::InvalidParam("tool_choice",
                             "tool_choice names " + want + ", which is not in tools");
  return std::nullopt;
}

uint64_t NewGroup() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

uint64_t SeedFor(const api::GenerationFields& g, int i) {
  if (g.seed) return *g.seed + static_cast<uint64_t>(i);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::unique_ptr<Job::Impl> NewImpl(std::shared_ptr<ModelEntry> model,
                                   const api::GenerationFields& g, bool chat) {
  auto m = std::make_unique<Job::Impl>();
  m->model = std::move(model);
  m->chat = chat;
  m->stream = g.stream;
  m->include_usage = g.stream && g.include_usage;
  m->logprobs = g.logprobs;
  m->id = api::NewId(chat ? "chatcmpl" : "cmpl");
  m->created = NowSeconds();
  m->fingerprint = "fp_seekd_" SEEKD_VERSION_STRING;
  return m;
}
}  // namespace

api::ApiResult<std::unique_ptr<Job>> Job::StartChat(const std::shared_ptr<ModelEntry>& model,
                                                    const api::ChatRequest& req,
                                                    std::function<void()> notify) {
  bool opens = false;
  auto text = RenderChatPrompt(*model, req, &opens);
  if (auto* e = std::get_if<api::ApiError>(&text)) return *e;
  tok::EncodeOptions eo;
  eo.add_bos = 0;  // the template writes BOS itself
  std::vector<int32_t> prompt = model->tok->Encode(std::get<std::string>(text), eo);
  auto m = NewImpl(model, req.gen, /*chat=*/true);
  m->choices.resize(static_cast<size_t>(req.gen.n));
  const bool tools = req.tools && !(req.tool_choice.is_string() && req.tool_choice == "none");
  for (Choice& c : m->choices) {
    c.split = chat::ReasoningSplitter(opens);
    if (tools && model->tmpl) c.tools.emplace(chat::ToolFormatFor(*model->tmpl));
  }
  m->prompt_tokens_total = static_cast<int32_t>(prompt.size());
  if (req.response_format != api::ResponseFormat::kText) {
    m->json.push_back({"",
                       req.response_format == api::ResponseFormat::kJsonSchema
                           ? req.json_schema.dump()
                           : std::string(),
                       ""});
    m->json_param = "response_format";
  }
  if (auto e = ForcedToolCall(*model, req, &m->json)) return *e;
  if (!m->json.empty() && !m->json.front().prefix.empty()) m->json_param = "tools";
  m->inbox->notify = std::move(notify);
  // n samples of one prompt: one computes it, the others share its cached blocks.
  const uint64_t group = req.gen.n > 1 ? NewGroup() : 0;
  for (int i = 0; i < req.gen.n; ++i)
    if (auto e = m->Submit(i, prompt, req.gen, SeedFor(req.gen, i), group)) {
      m->CancelAll();
      return *e;
    }
  return std::unique_ptr<Job>(new Job(std::move(m)));
}

api::ApiResult<std::unique_ptr<Job>> Job::StartCompletion(const std::shared_ptr<ModelEntry>& model,
                                                          const api::CompletionRequest& req,
                                                          std::function<void()> notify) {
  auto m = NewImpl(model, req.gen, /*chat=*/false);
  const tok::Tokenizer& tk = *model->tok;
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& p : req.prompts) {
    if (const auto* ids = std::get_if<std::vector<int32_t>>(&p)) {
      for (int32_t id : *ids)
        if (id >= model->llm->config().n_vocab)
          return api::InvalidParam("prompt",
                                   "token id " + std::to_string(id) + " is outside the vocabulary");
      prompts.push_back(*ids);
      continue;
    }
    const std::string& text = std::get<std::string>(p);
    if (req.suffix) {
      if (!model->fim.ok())
        return api::InvalidParam("suffix",
                                 "The model " + model->name + " has no fill-in-the-middle tokens");
      tok::EncodeOptions plain;
      plain.add_bos = 0;
      plain.parse_special = false;
      std::vector<int32_t> ids;
      if (tk.spec().bos_id >= 0 && tk.spec().add_bos) ids.push_back(tk.spec().bos_id);
      ids.push_back(model->fim.prefix);
      for (int32_t t : tk.Encode(text, plain)) ids.push_back(t);
      ids.push_back(model->fim.suffix);
      for (int32_t t : tk.Encode(*req.suffix, plain)) ids.push_back(t);
      ids.push_back(model->fim.middle);
      prompts.push_back(std::move(ids));
    } else {
      tok::EncodeOptions eo;
      eo.parse_special = false;  // user text never becomes control tokens
      prompts.push_back(tk.Encode(text, eo));
    }
  }
  const int n = req.gen.n;
  m->choices.resize(prompts.size() * static_cast<size_t>(n));
  m->inbox->notify = std::move(notify);
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) return api::InvalidParam("prompt", "the prompt is empty");
    const uint64_t group = n > 1 ? NewGroup() : 0;
    m->prompt_tokens_total += static_cast<int32_t>(prompts[p].size());
    for (int j = 0; j < n; ++j) {
      const int i = static_cast<int>(p) * n + j;
      Choice& c = m->choices[static_cast<size_t>(i)];
      c.prompt_index = static_cast<int>(p);
      if (req.echo) {
        // The prompt as the client sent it (text), or its ids decoded.
        const auto& given = req.prompts[p];
        c.prefix = std::holds_alternative<std::string>(given)
                       ? std::get<std::string>(given)
                       : tk.Decode(std::get<std::vector<int32_t>>(given), /*skip_special=*/false);
      }
      if (auto e = m->Submit(i, prompts[p], req.gen, SeedFor(req.gen, i), group)) {
        m->CancelAll();
        return *e;
      }
    }
  }
  return std::unique_ptr<Job>(new Job(std::move(m)));
}

}  // namespace seekd::server

#include "engine/json_constraint.h"

#include <algorithm>
#include <limits>

#include "engine/json_schema.h"

namespace seekd::engine {

using json = nlohmann::json;

namespace {

using Node = JsonSchemaNode;
constexpr int kMaxWhitespace = 24;  // consecutive; a model must not loop on blank space

bool IsWs(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }
bool IsHex(uint8_t c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

enum Mode : uint8_t {
  kValue,     // a value of `node` starts (whitespace first)
  kObjFirst,  // after '{': a key or '}'
  kObjKey,    // after ',' in an object: a key
  kColon,     // after a key
  kAfter,     // after a value inside a container: ',' or the closer
  kArrFirst,  // after '[': a value or ']'
  kStr,       // inside a string
  kStrEsc,    // after '\'
  kStrU,      // inside \uXXXX
  kNum,       // inside a number
  kLit,       // inside true / false / null
  kEnumLit,   // inside one of an enum's values
  kPrefix,    // inside the alternative's literal prefix
  kSuffix,    // inside the alternative's literal suffix
  kDone,      // the top-level value (and the suffix) is complete
};

struct Frame {
  int node = 0;
  bool obj = false;
  int64_t count = 0;  // array items so far
  uint64_t seen = 0;  // object: properties used
  int cur = 0;        // object: the schema of the value after the current key
};

struct Thread {
  std::vector<Frame> stack;
  Mode mode = kValue;
  int node = 0;  // kValue: schema of the value; kEnumLit: the enum node
  bool key = false;
  uint8_t ws = 0;
  uint8_t num = 0;     // number state (see NumberNext)
  uint8_t digits = 0;  // digits in the current part of the number
  bool integer = false;
  uint8_t u_left = 0;
  uint16_t u_value = 0;   // the \u escape's digits so far
  bool need_low = false;  // a high surrogate was written: a \uDC00–\uDFFF must follow
  bool in_low = false;    // this \u escape is that low surrogate
  uint8_t utf8_left = 0;  // continuation bytes still due in a character
  uint8_t utf8_lo = 0x80, utf8_hi = 0xBF;  // the range the next one must fall in
  const char* lit = nullptr;
  uint8_t lit_pos = 0;
  std::string buf;   // key bytes (constrained keys) or enum bytes
  int alt = 0;       // which alternative this thread follows
  uint32_t pos = 0;  // kPrefix / kSuffix: bytes matched
};

struct Alt {
  std::string prefix, suffix;
  int root = 0;
};

}  // namespace

struct JsonConstraint::Matcher {
  const std::vector<Node>* nodes = nullptr;
  const std::vector<Alt>* alts = nullptr;
  std::vector<Thread> threads;

  const Node& N(int i) const { return (*nodes)[static_cast<size_t>(i)]; }
  const Alt& A(const Thread& t) const { return (*alts)[static_cast<size_t>(t.alt)]; }

  void ValueDone(Thread& t) const {
    if (!t.stack.empty()) {
      t.mode = kAfter;
    } else if (!A(t).suffix.empty()) {
      t.mode = kSuffix;
      t.pos = 0;
    } else {
      t.mode = kDone;
    }
  }

  bool Ws(Thread& t) const { return ++t.ws <= kMaxWhitespace; }

  // Starts a value of schema `node` with byte c. anyOf forks into `forks`.
  bool Begin(Thread& t, int node, uint8_t c, std::vector<Thread>* forks) const {
    const Node& n = N(node);
    if (n.kind == Node::kAnyOf) {
      for (int o : n.options) {
        Thread f = t;
        if (Begin(f, o, c, forks)) forks->push_back(std::move(f));
      }
      return false;
    }
    t.ws = 0;
    auto number = [&](bool integer) {
      if (c != '-' && !IsDigit(c)) return false;
      t.mode = kNum;
      t.integer = integer;
      t.num = c == '-' ? 0 : (c == '0' ? 1 : 2);
      t.digits = c == '-' ? 0 : 1;
      return true;
    };
    auto literal = [&](const char* lit) {
      if (c != static_cast<uint8_t>(lit[0])) return false;
      t.mode = kLit;
      t.lit = lit;
      t.lit_pos = 1;
      return true;
    };
    auto open_obj = [&](int obj_node) {
      t.stack.push_back({obj_node, true, 0, 0, 0});
      t.mode = kObjFirst;
      return true;
    };
    auto open_arr = [&](int arr_node) {
      t.stack.push_back({arr_node, false, 0, 0, 0});
      t.mode = kArrFirst;
      return true;
    };
    auto open_str = [&]() {
      t.mode = kStr;
      t.key = false;
      return true;
    };
    switch (n.kind) {
      case Node::kAny:
        if (c == '{') return open_obj(kAnyObjectNode);
        if (c == '[') return open_arr(kAnyArrayNode);
        if (c == '"') return open_str();
        if (c == 't') return literal("true");
        if (c == 'f') return literal("false");
        if (c == 'n') return literal("null");
        return number(false);
      case Node::kObject:
        return c == '{' && open_obj(node);
      case Node::kArray:
        return c == '[' && open_arr(node);
      case Node::kString:
        return c == '"' && open_str();
      case Node::kNumber:
        return number(false);
      case Node::kInteger:
        return number(true);
      case Node::kBoolean:
        return literal("true") || literal("false");
      case Node::kNull:
        return literal("null");
      case Node::kEnum:
        t.mode = kEnumLit;
        t.node = node;
        t.buf.clear();
        return StepEnum(t, c);
      case Node::kAnyOf:
        break;
    }
    return false;
  }

  bool StepEnum(Thread& t, uint8_t c) const {
    const Node& n = N(t.node);
    t.buf.push_back(static_cast<char>(c));
    bool prefix = false, exact = false, longer = false;
    for (const auto& v : n.values) {
      if (v.size() >= t.buf.size() && v.compare(0, t.buf.size(), t.buf) == 0) {
        prefix = true;
        if (v.size() == t.buf.size())
          exact = true;
        else
          longer = true;
      }
    }
    if (prefix) {
      if (exact && !longer) {
        t.buf.clear();
        ValueDone(t);
      }
      return true;
    }
    return false;
  }

  // Number states: 0 after '-', 1 after a leading 0, 2 integer digits, 3 after '.', 4 fraction
  // digits, 5 after e/E, 6 after the exponent's sign, 7 exponent digits. 1, 2, 4, 7 may end.
  static bool NumberCanEnd(uint8_t s) { return s == 1 || s == 2 || s == 4 || s == 7; }
  static int NumberNext(uint8_t s, uint8_t c, bool integer) {
    const bool d = IsDigit(c);
    switch (s) {
      case 0:
        return c == '0' ? 1 : (d ? 2 : -1);
      case 1:
      case 2:
        if (s == 2 && d) return 2;
        if (integer) return -1;
        if (c == '.') return 3;
        if (c == 'e' || c == 'E') return 5;
        return -1;
      case 3:
      case 4:
        if (d) return 4;
        if (s == 4 && (c == 'e' || c == 'E')) return 5;
        return -1;
      case 5:
        if (c == '+' || c == '-') return 6;
        return d ? 7 : -1;
      case 6:
      case 7:
        return d ? 7 : -1;
    }
    return -1;
  }

  // Key bytes of a constrained object: must stay a prefix of an unused property name.
  bool KeyPrefixOk(const Thread& t) const {
    const Frame& f = t.stack.back();
    const Node& n = N(f.node);
    if (n.additional) return true;
    for (size_t i = 0; i < n.props.size(); ++i)
      if (!(f.seen >> i & 1) && n.props[i].compare(0, t.buf.size(), t.buf) == 0) return true;
    return false;
  }

  bool KeyDone(Thread& t) const {
    Frame& f = t.stack.back();
    const Node& n = N(f.node);
    for (size_t i = 0; i < n.props.size(); ++i) {
      if (n.props[i] == t.buf) {
        if (f.seen >> i & 1) return false;  // duplicate key
        f.seen |= 1ull << i;
        f.cur = n.prop_nodes[i];
        t.buf.clear();
        t.mode = kColon;
        t.ws = 0;
        return true;
      }
    }
    if (!n.additional) return false;
    f.cur = n.additional_node;
    t.buf.clear();
    t.mode = kColon;
    t.ws = 0;
    return true;
  }

  bool Close(Thread& t) const {
    t.stack.pop_back();
    t.ws = 0;
    ValueDone(t);
    return true;
  }

  // One byte for one thread. false: the thread dies (forks may have been made).
  bool Step(Thread& t, uint8_t c, std::vector<Thread>* forks) const {
    switch (t.mode) {
      case kValue:
        if (IsWs(c)) return Ws(t);
        return Begin(t, t.node, c, forks);
      case kObjFirst:
      case kObjKey: {
        if (IsWs(c)) return Ws(t);
        Frame& f = t.stack.back();
        const Node& n = N(f.node);
        if (c == '"') {
          t.mode = kStr;
          t.key = true;
          t.buf.clear();
          t.ws = 0;
          return true;
        }
        if (c == '}' && t.mode == kObjFirst) return (f.seen & n.required) == n.required && Close(t);
        return false;
      }
      case kColon:
        if (IsWs(c)) return Ws(t);
        if (c != ':') return false;
        t.mode = kValue;
        t.node = t.stack.back().cur;
        t.ws = 0;
        return true;
      case kAfter: {
        if (IsWs(c)) return Ws(t);
        Frame& f = t.stack.back();
        const Node& n = N(f.node);
        if (f.obj) {
          if (c == '}') return (f.seen & n.required) == n.required && Close(t);
          if (c != ',') return false;
          if (!n.additional) {
            const uint64_t all = n.props.size() >= 64 ? ~0ull : (1ull << n.props.size()) - 1;
            if ((f.seen & all) == all) return false;  // nothing left to add
          }
          t.mode = kObjKey;
          t.ws = 0;
          return true;
        }
        if (c == ']') return f.count >= n.min_items && Close(t);
        if (c != ',' || f.count >= n.max_items) return false;
        ++f.count;
        t.mode = kValue;
        t.node = n.items;
        t.ws = 0;
        return true;
      }
      case kArrFirst: {
        if (IsWs(c)) return Ws(t);
        Frame& f = t.stack.back();
        const Node& n = N(f.node);
        if (c == ']') return n.min_items == 0 && Close(t);
        if (n.max_items < 1) return false;
        f.count = 1;
        return Begin(t, n.items, c, forks);
      }
      case kStr:
        if (t.need_low && c != '\\') return false;  // the low half of a surrogate pair
        if (t.utf8_left > 0) {
          // Inside a multi-byte character: only its continuation bytes (RFC 3629 ranges, so
          // no overlong forms or surrogates).
          if (c < t.utf8_lo || c > t.utf8_hi) return false;
          --t.utf8_left;
          t.utf8_lo = 0x80;
          t.utf8_hi = 0xBF;
          if (t.key) t.buf.push_back(static_cast<char>(c));
          return !t.key || KeyPrefixOk(t);
        }
        if (c >= 0x80) {
          if (c < 0xC2 || c > 0xF4) return false;
          t.utf8_left = c < 0xE0 ? 1 : (c < 0xF0 ? 2 : 3);
          t.utf8_lo = c == 0xE0 ? 0xA0 : (c == 0xF0 ? 0x90 : 0x80);
          t.utf8_hi = c == 0xED ? 0x9F : (c == 0xF4 ? 0x8F : 0xBF);
          if (t.key) t.buf.push_back(static_cast<char>(c));
          return !t.key || KeyPrefixOk(t);
        }
        if (c == '"') {
          if (t.key) return KeyDone(t);
          ValueDone(t);
          t.ws = 0;
          return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
          if (t.key && !N(t.stack.back().node).additional) return false;
          t.mode = kStrEsc;
          return true;
        }
        if (t.key) {
          t.buf.push_back(static_cast<char>(c));
          return KeyPrefixOk(t);
        }
        return true;
      case kStrEsc:
        if (c == 'u') {
          t.mode = kStrU;
          t.u_left = 4;
          t.u_value = 0;
          t.in_low = t.need_low;
          t.need_low = false;
          return true;
        }
        if (t.need_low) return false;
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
            c == 't') {
          t.mode = kStr;
          return true;
        }
        return false;
      case kStrU: {
        if (!IsHex(c)) return false;
        const int digit = IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        t.u_value = static_cast<uint16_t>(t.u_value * 16 + digit);
        --t.u_left;
        // The code units this escape can still become; surrogates must pair (parsers reject
        // a lone one), and this is decided digit by digit so no dead end is ever allowed.
        const unsigned lo = static_cast<unsigned>(t.u_value) << (4 * t.u_left);
        const unsigned hi = lo + (1u << (4 * t.u_left)) - 1;
        if (t.in_low) {
          if (hi < 0xDC00 || lo > 0xDFFF) return false;
        } else if (lo >= 0xDC00 && hi <= 0xDFFF) {
          return false;  // a low surrogate with no high one before it
        }
        if (t.u_left == 0) {
          t.mode = kStr;
          t.need_low = !t.in_low && t.u_value >= 0xD800 && t.u_value <= 0xDBFF;
          t.in_low = false;
        }
        return true;
      }
      case kNum: {
        const int next = NumberNext(t.num, c, t.integer);
        if (next >= 0) {
          // Bounded digits keep every number a finite double that parsers read exactly enough
          // (15 integer or fraction digits, exponents below 100).
          t.digits = next == t.num ? t.digits + 1 : (IsDigit(c) ? 1 : 0);
          if (t.digits > ((next == 7) ? 2 : 15)) return false;
          t.num = static_cast<uint8_t>(next);
          return true;
        }
        if (!NumberCanEnd(t.num)) return false;
        ValueDone(t);
        t.ws = 0;
        return Step(t, c, forks);
      }
      case kLit:
        if (c != static_cast<uint8_t>(t.lit[t.lit_pos])) return false;
        if (t.lit[++t.lit_pos] == '\0') {
          ValueDone(t);
          t.ws = 0;
        }
        return true;
      case kEnumLit: {
        std::string before = t.buf;
        if (StepEnum(t, c)) return true;
        // A value that only ends at the next byte (a number): complete it and go on.
        t.buf = std::move(before);
        const Node& n = N(t.node);
        if (std::find(n.values.begin(), n.values.end(), t.buf) == n.values.end()) return false;
        t.buf.clear();
        ValueDone(t);
        t.ws = 0;
        return Step(t, c, forks);
      }
      case kPrefix: {
        const std::string& p = A(t).prefix;
        if (static_cast<char>(c) != p[t.pos]) return false;
        if (++t.pos == p.size()) {
          t.mode = kValue;
          t.node = A(t).root;
          t.ws = 0;
        }
        return true;
      }
      case kSuffix: {
        const std::string& s = A(t).suffix;
        if (static_cast<char>(c) != s[t.pos]) return false;
        if (++t.pos == s.size()) t.mode = kDone;
        return true;
      }
      case kDone:
        return A(t).suffix.empty() && IsWs(c) && Ws(t);
    }
    return false;
  }

  bool Feed(std::string_view bytes) {
    std::vector<Thread> next, forks;
    for (uint8_t c : bytes) {
      next.clear();
      for (Thread& t : threads) {
        forks.clear();
        if (Step(t, c, &forks)) next.push_back(std::move(t));
        for (Thread& f : forks) next.push_back(std::move(f));
      }
      if (next.empty()) return false;
      threads.swap(next);
    }
    return true;
  }

  bool Done() const {
    for (const Thread& t : threads) {
      if (t.mode == kDone) return true;
      if (!A(t).suffix.empty()) continue;  // done only once the suffix is written
      if (t.stack.empty() && t.mode == kNum && NumberCanEnd(t.num)) return true;
      if (t.stack.empty() && t.mode == kEnumLit &&
          std::find(N(t.node).values.begin(), N(t.node).values.end(), t.buf) !=
              N(t.node).values.end())
        return true;
    }
    return false;
  }
  bool Finished() const {
    return std::all_of(threads.begin(), threads.end(),
                       [](const Thread& t) { return t.mode == kDone; });
  }
  bool InPlainString() const {
    return threads.size() == 1 && threads[0].mode == kStr && !threads[0].key &&
           threads[0].utf8_left == 0;
  }
};

JsonVocab::JsonVocab(const tok::Tokenizer& tok) : by_first_(256) {
  const auto n = static_cast<int32_t>(tok.spec().tokens.size());
  bytes_.resize(static_cast<size_t>(n));
  string_safe_.assign(static_cast<size_t>(n), 0);
  for (int32_t id = 0; id < n; ++id) {
    if (tok.IsSpecial(id)) continue;
    const std::string& b = tok.TokenBytes(id);
    if (b.empty()) continue;
    bytes_[static_cast<size_t>(id)] = b;
    // Safe inside any string between characters: no quote, backslash or control byte, and
    // valid UTF-8 from its first byte (a character cut at the end may continue next token).
    bool safe = true;
    int left = 0;
    unsigned lo = 0x80, hi = 0xBF;
    for (unsigned char c : b) {
      safe = safe && c >= 0x20 && c != '"' && c != '\\';
      if (left > 0) {
        safe = safe && c >= lo && c <= hi;
        --left;
        lo = 0x80;
        hi = 0xBF;
      } else if (c >= 0x80) {
        safe = safe && c >= 0xC2 && c <= 0xF4;
        left = c < 0xE0 ? 1 : (c < 0xF0 ? 2 : 3);
        lo = c == 0xE0 ? 0xA0 : (c == 0xF0 ? 0x90 : 0x80);
        hi = c == 0xED ? 0x9F : (c == 0xF4 ? 0x8F : 0xBF);
      }
    }
    string_safe_[static_cast<size_t>(id)] = safe;
    if (!safe) string_unsafe_.push_back(id);
    by_first_[static_cast<unsigned char>(b[0])].push_back(id);
  }
}

JsonConstraint::~JsonConstraint() = default;

Result<std::unique_ptr<JsonConstraint>> JsonConstraint::Create(
    std::shared_ptr<const JsonVocab> vocab, const nlohmann::json* schema,
    std::vector<int32_t> stop_tokens) {
  return Create(std::move(vocab), std::vector<Alternative>{{"", schema, ""}},
                std::move(stop_tokens));
}

Result<std::unique_ptr<JsonConstraint>> JsonConstraint::Create(
    std::shared_ptr<const JsonVocab> vocab, const std::vector<Alternative>& alternatives,
    std::vector<int32_t> stop_tokens) {
  if (alternatives.empty()) return InvalidArgument("no alternatives to constrain to");
  auto nodes = std::make_shared<std::vector<Node>>(3);
  (*nodes)[kAnyObjectNode].kind = Node::kObject;
  (*nodes)[kAnyArrayNode].kind = Node::kArray;
  auto alts = std::make_shared<std::vector<Alt>>();
  for (const Alternative& a : alternatives) {
    Alt alt{a.prefix, a.suffix, kAnyObjectNode};
    if (a.schema) {
      SEEKD_ASSIGN_OR_RETURN(alt.root, CompileJsonSchema(*a.schema, nodes.get()));
    }
    alts->push_back(std::move(alt));
  }
  if (stop_tokens.empty()) return InvalidArgument("JSON mode needs a stop token to end with");
  std::unique_ptr<JsonConstraint> c(new JsonConstraint());
  c->vocab_ = std::move(vocab);
  c->stop_tokens_ = std::move(stop_tokens);
  c->nodes_ = nodes;
  c->alts_ = alts;
  c->m_ = std::make_unique<Matcher>();
  c->m_->nodes = nodes.get();
  c->m_->alts = alts.get();
  for (size_t i = 0; i < alts->size(); ++i) {
    Thread t;
    t.alt = static_cast<int>(i);
    t.node = (*alts)[i].root;
    t.mode = (*alts)[i].prefix.empty() ? kValue : kPrefix;
    c->m_->threads.push_back(std::move(t));
  }
  return c;
}

bool JsonConstraint::CanFeed(std::string_view text) const {
  Matcher copy = *m_;
  return copy.Feed(text);
}

bool JsonConstraint::Feed(std::string_view text) { return m_->Feed(text); }

bool JsonConstraint::done() const { return m_->Done(); }

void JsonConstraint::Mask(std::span<float> logits) {
  const JsonVocab& v = *vocab_;
  const size_t n = std::min(logits.size(), v.size());
  allowed_.assign(logits.size(), 0);
  if (!m_->Finished()) {
    if (m_->InPlainString()) {
      // Inside a string most tokens are plain text: only those with quotes, backslashes or
      // control bytes need the automaton.
      for (size_t id = 0; id < n; ++id) allowed_[id] = v.string_safe_[id];
      for (int32_t id : v.string_unsafe_)
        if (static_cast<size_t>(id) < n)
          allowed_[static_cast<size_t>(id)] = CanFeed(v.bytes_[static_cast<size_t>(id)]);
    } else {
      for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        if (v.by_first_[static_cast<size_t>(b)].empty() || !CanFeed(std::string_view(&c, 1)))
          continue;
        for (int32_t id : v.by_first_[static_cast<size_t>(b)])
          if (static_cast<size_t>(id) < n)
            allowed_[static_cast<size_t>(id)] = CanFeed(v.bytes_[static_cast<size_t>(id)]);
      }
    }
  }
  bool any = false;
  for (size_t i = 0; i < logits.size() && !any; ++i) any = allowed_[i] != 0;
  if (m_->Done() || !any)
    for (int32_t s : stop_tokens_)
      if (s >= 0 && static_cast<size_t>(s) < logits.size()) allowed_[static_cast<size_t>(s)] = 1;
  for (size_t i = 0; i < logits.size(); ++i)
    if (!allowed_[i]) logits[i] = -std::numeric_limits<float>::infinity();
}

void JsonConstraint::Accept(int32_t token) {
  if (std::find(stop_tokens_.begin(), stop_tokens_.end(), token) != stop_tokens_.end()) return;
  if (token < 0 || static_cast<size_t>(token) >= vocab_->size()) return;
  m_->Feed(vocab_->bytes_[static_cast<size_t>(token)]);
}

}  // namespace seekd::engine

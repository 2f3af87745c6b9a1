#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace seekd::tok {

namespace {
uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Merge {
  int32_t rank;
  int32_t merged;
};

// A trie over bytes of the tokens matched before BPE (longest match wins).
struct ByteTrie {
  struct Node {
    std::unordered_map<uint8_t, int32_t> next;
    int32_t token = -1;
  };
  std::vector<Node> nodes{1};
  void Insert(std::string_view s, int32_t id) {
    int32_t n = 0;
    for (uint8_t c : s) {
      auto it = nodes[n].next.find(c);
      if (it == nodes[n].next.end()) {
        nodes.emplace_back();
        it = nodes[n].next.emplace(c, static_cast<int32_t>(nodes.size() - 1)).first;
      }
      n = it->second;
    }
    nodes[n].token = id;
  }
  // Longest token starting at text[i]: returns (id, length) or (-1, 0).
  std::pair<int32_t, size_t> Match(std::string_view text, size_t i, bool allow_control,
                                   const std::vector<int32_t>& types) const {
    int32_t n = 0, best = -1;
    size_t best_len = 0;
    for (size_t j = i; j < text.size(); ++j) {
      auto it = nodes[n].next.find(static_cast<uint8_t>(text[j]));
      if (it == nodes[n].next.end()) break;
      n = it->second;
      const int32_t t = nodes[n].token;
      if (t >= 0 && (allow_control || types[t] != kTokenControl)) {
        best = t;
        best_len = j + 1 - i;
      }
    }
    return {best, best_len};
  }
};
}  // namespace

struct Tokenizer::Impl {
  std::unordered_map<std::string, int32_t> token_to_id;
  std::unordered_map<uint64_t, Merge> merges;
  std::array<int32_t, 256> byte_token{};  // byte → id of its single-character token (-1 if none)
  std::vector<std::string> token_bytes;
  std::vector<int32_t> types;
  ByteTrie added;
  bool has_added = false;
  PreTokenizer pre;
  std::unordered_map<std::string, std::vector<int32_t>> cache;
  mutable std::mutex cache_mu;

  explicit Impl(PreTokenizer p) : pre(std::move(p)) {}
  void Bpe(std::string_view piece, std::vector<int32_t>* out) const;
  void EncodePiece(std::string_view piece, bool ignore_merges, std::vector<int32_t>* out);
};

// Merges the byte tokens of one piece by rank, lowest first, leftmost on ties.
void Tokenizer::Impl::Bpe(std::string_view piece, std::vector<int32_t>* out) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;
  };
  std::vector<Sym> syms;
  syms.reserve(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    const int32_t id = byte_token[static_cast<uint8_t>(piece[i])];
    syms.push_back({id, static_cast<int32_t>(i) - 1, static_cast<int32_t>(i) + 1});
  }
  syms.back().next = -1;
  struct Cand {
    int32_t rank, left, right_id, left_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t l) {
    const int32_t r = syms[l].next;
    if (r < 0 || syms[l].id < 0 || syms[r].id < 0) return;
    auto it = merges.find(PairKey(syms[l].id, syms[r].id));
    if (it != merges.end()) heap.push({it->second.rank, l, syms[r].id, syms[l].id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& l = syms[c.left];
    if (l.id != c.left_id || l.next < 0 || syms[l.next].id != c.right_id) continue;  // stale
    Sym& r = syms[l.next];
    l.id = merges.at(PairKey(c.left_id, c.right_id)).merged;
    r.id = -2;  // gone
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    if (l.prev >= 0) push(l.prev);
    push(c.left);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next)
    if (syms[i].id >= 0) out->push_back(syms[i].id);
}

void Tokenizer::Impl::EncodePiece(std::string_view piece, bool ignore_merges,
                                  std::vector<int32_t>* out) {
  // Byte-level map: each byte → its stand-in character; BPE then works on those characters,
  // which here are represented directly by their single-character token ids.
  if (ignore_merges) {
    std::string mapped;
    for (uint8_t b : piece) mapped += ByteToUnicode()[b];
    auto it = token_to_id.find(mapped);
    if (it != token_to_id.end()) {
      out->push_back(it->second);
      return;
    }
  }
  const bool cacheable = piece.size() <= 256;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(std::string(piece));
    if (it != cache.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  Bpe(piece, &ids);
  out->insert(out->end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu);
    if (cache.size() > 100000) cache.clear();
    cache.emplace(std::string(piece), std::move(ids));
  }
}

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::Create(VocabSpec spec) {
  if (spec.model != "gpt2")
    return Unsupported("tokenizer model '" + spec.model +
                       "' (only byte-level BPE, 'gpt2', is supported)");
  const size_t n = spec.tokens.size();
  if (n == 0) return InvalidArgument("the vocabulary is empty");
  if (n > (size_t{1} << 24))
    return InvalidArgument("vocabulary of " + std::to_string(n) + " tokens is too large");
  if (spec.token_types.empty()) spec.token_types.assign(n, kTokenNormal);
  if (spec.token_types.size() != n)
    return InvalidArgument("token_type has " + std::to_string(spec.token_types.size()) +
                           " entries for " + std::to_string(n) + " tokens");
  for (int32_t* id : {&spec.bos_id, &spec.eos_id, &spec.pad_id, &spec.unk_id})
    if (*id < -1 || *id >= static_cast<int32_t>(n))
      return InvalidArgument("special token id " + std::to_string(*id) +
                             " is outside the vocabulary");
  std::vector<std::string> regexes = spec.pre_split_regexes;
  if (regexes.empty()) {
    auto r = SplitRegexesForPre(spec.pre);
    if (!r.ok()) return r.status();
    regexes = *r;
  }
  SEEKD_ASSIGN_OR_RETURN(PreTokenizer pre, PreTokenizer::Create(regexes));
  if (!spec.normalizer.empty() && spec.normalizer != "nfc")
    return Unsupported("normalizer '" + spec.normalizer + "'");

  Tokenizer t;
  t.impl_ = std::make_unique<Impl>(std::move(pre));
  Impl& im = *t.impl_;
  im.types = spec.token_types;
  im.token_to_id.reserve(n);
  im.token_bytes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& s = spec.tokens[i];
    const int32_t type = spec.token_types[i];
    im.token_to_id.emplace(s, static_cast<int32_t>(i));  // first id wins on duplicates
    if (type == kTokenControl || type == kTokenUserDefined) {
      im.token_bytes[i] = s;  // added tokens are stored as literal text
      if (!s.empty()) {
        im.added.Insert(s, static_cast<int32_t>(i));
        im.has_added = true;
      }
      continue;
    }
    // Normal tokens: undo the byte-level map; characters outside it stay as UTF-8.
    std::string bytes;
    for (size_t j = 0; j < s.size();) {
      const int len = Utf8SeqLen(static_cast<uint8_t>(s[j]));
      uint32_t cp = static_cast<uint8_t>(s[j]) & (len == 1 ? 0x7f : (0xff >> (len + 1)));
      for (int k = 1; k < len && j + k < s.size(); ++k)
        cp = (cp << 6) | (static_cast<uint8_t>(s[j + k]) & 0x3f);
      const int b = UnicodeToByte(cp);
      if (b >= 0)
        bytes.push_back(static_cast<char>(b));
      else
        bytes.append(s, j, static_cast<size_t>(len));
      j += static_cast<size_t>(len);
    }
    im.token_bytes[i] = std::move(bytes);
  }
  for (int b = 0; b < 256; ++b) {
    auto it = im.token_to_id.find(ByteToUnicode()[b]);
    im.byte_token[b] = it == im.token_to_id.end() ? -1 : it->second;
  }
  im.merges.reserve(spec.merges.size());
  for (size_t r = 0; r < spec.merges.size(); ++r) {
    const std::string& m = spec.merges[r];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos)
      return InvalidArgument("merge #" + std::to_string(r) + " '" + m +
                             "' is not two tokens separated by a space");
    const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
    auto l = im.token_to_id.find(left), rr = im.token_to_id.find(right),
         mm = im.token_to_id.find(left + right);
    if (l == im.token_to_id.end() || rr == im.token_to_id.end())
      return InvalidArgument("merge #" + std::to_string(r) + " '" + m +
                             "' names a token not in the vocabulary");
    if (mm == im.token_to_id.end()) continue;  // its result cannot be emitted: never applied
    im.merges.emplace(PairKey(l->second, rr->second), Merge{static_cast<int32_t>(r), mm->second});
  }
  t.spec_ = std::move(spec);
  return t;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view raw, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  const bool add_bos = options.add_bos < 0 ? spec_.add_bos : options.add_bos > 0;
  if (add_bos && spec_.bos_id >= 0) out.push_back(spec_.bos_id);
  const std::string text = SanitizeUtf8(raw);
  std::vector<std::string_view> pieces;
  auto encode_section = [&](std::string_view section) {
    if (section.empty()) return;
    std::string normalized;
    if (spec_.normalizer == "nfc") {
      normalized = Nfc(section);
      section = normalized;
    }
    pieces.clear();
    impl_->pre.Split(section, &pieces);
    for (std::string_view p : pieces) impl_->EncodePiece(p, spec_.ignore_merges, &out);
  };
  size_t start = 0, i = 0;
  while (i < text.size()) {
    if (impl_->has_added) {
      auto [id, len] = impl_->added.Match(text, i, options.parse_special, impl_->types);
      if (id >= 0) {
        encode_section(std::string_view(text).substr(start, i - start));
        out.push_back(id);
        i += len;
        start = i;
        continue;
      }
    }
    ++i;
  }
  encode_section(std::string_view(text).substr(start));
  if (spec_.add_eos && spec_.eos_id >= 0) out.push_back(spec_.eos_id);
  return out;
}

const std::string& Tokenizer::TokenBytes(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= vocab_size()) return kEmpty;
  return impl_->token_bytes[static_cast<size_t>(id)];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->types[static_cast<size_t>(id)] == kTokenControl;
}

int32_t Tokenizer::FindToken(std::string_view text) const {
  auto it = impl_->token_to_id.find(std::string(text));
  return it == impl_->token_to_id.end() ? -1 : it->second;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (skip_special && IsSpecial(id)) continue;
    out += TokenBytes(id);
  }
  return out;
}

std::string StreamDecoder::Push(int32_t id) {
  if (skip_special_ && tok_.IsSpecial(id)) return {};
  pending_ += tok_.TokenBytes(id);
  // Emit everything up to the last character that might still be incomplete.
  size_t cut = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const auto b = static_cast<uint8_t>(pending_[pending_.size() - back]);
    if ((b & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const int len = Utf8SeqLen(b);
    if (b >= 0xc0 && static_cast<size_t>(len) > back) cut = pending_.size() - back;
    break;
  }
  std::string ready = SanitizeUtf8(std::string_view(pending_).substr(0, cut));
  pending_.erase(0, cut);
  return ready;
}

std::string StreamDecoder::Flush() {
  std::string rest = SanitizeUtf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace seekd::tok

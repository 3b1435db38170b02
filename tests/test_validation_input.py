"""Input validation found missing by the lead18 API probe (notes/lead18/probe_api): each bad value is refused where it
enters, as `InvalidInputError` (request objects) or `ConfigError` (settings) naming the field and the value, instead of
leaking a `UnicodeEncodeError`, a `RouterError`, a `ValueError` or a process abort later on."""
import math
import pytest

from ruvllm.config import Config, ConfigError, MAX_THREADS, MAX_TOKENS, MAX_WIDTH
from ruvllm.types import Constraints, Feedback, InvalidInputError, Request, check_unicode


# 1. lone surrogates in request-side text

@pytest.mark.parametrize('make, field, pos', [
    (lambda s: Request(s), 'query', 3),
    (lambda s: Request('Where is it?', session_id=s), 'session_id', 3),
    (lambda s: Request('Where is it?', request_id=s), 'request_id', 3),
    (lambda s: Feedback(s, rating=3), 'request_id', 3),
    (lambda s: Feedback('r1', correction=s), 'correction', 3),
])
def test_lone_surrogate_is_refused_naming_field_and_position(make, field, pos):
    with pytest.raises(InvalidInputError) as e: make('abc\udc80def')
    assert f"{field} is not valid Unicode (a lone surrogate '\\udc80' at position {pos})" in str(e.value)
    str(e.value).encode('utf-8')  # the message itself is printable UTF-8


def test_a_namespace_with_a_lone_surrogate_is_refused_by_the_namespace_rule():
    with pytest.raises(InvalidInputError, match="namespace must be a non-empty string of at most 64") as e:
        Request('Where is it?', namespace='abc\udc80def')
    str(e.value).encode('utf-8')  # the message itself is printable UTF-8


def test_lone_surrogate_is_refused_from_json_too():
    with pytest.raises(InvalidInputError, match='query is not valid Unicode'):
        Request.from_dict({'query': '\ud83d is a half emoji'})
    with pytest.raises(InvalidInputError, match='correction is not valid Unicode'):
        Feedback.from_dict({'request_id': 'r1', 'correction': 'x\ud800'})


@pytest.mark.parametrize('make, field, pos', [
    (lambda s: Request(s), 'query', 3),
    (lambda s: Request('Where is it?', session_id=s), 'session_id', 3),
    (lambda s: Feedback('r1', correction=s), 'correction', 3),
])
def test_a_nul_character_is_refused_naming_field_and_position(make, field, pos):
    "SQLite keeps a NUL, PostgreSQL refuses it: a query holding one was answered, then its write-back failed on every open."
    with pytest.raises(InvalidInputError) as e: make('abc\x00def')
    assert f"{field} contains a NUL character (0x00) at position {pos}" in str(e.value)
    with pytest.raises(InvalidInputError, match='query contains a NUL character'): Request.from_dict({'query': 'Who founded\u0000 Quorvane?'})


def test_check_unicode_passes_valid_text_unchanged():
    for s in ('plain', 'café', 'emoji 🙂 ok', '中文'):
        assert check_unicode(s, 'text') is s
    assert Request('Qu’est-ce que c’est ? 🙂', namespace='equipe').query.endswith('🙂')


# 2. constraints: finite positive numbers, a stated cap on max_tokens, top_p in (0, 1]

@pytest.mark.parametrize('v', [math.nan, math.inf, -math.inf, 10**400])
def test_max_latency_ms_must_be_finite(v):
    with pytest.raises(InvalidInputError, match='max_latency_ms must be a finite number > 0'):
        Constraints(max_latency_ms=v)


def test_max_tokens_has_a_stated_limit():
    assert Constraints(max_tokens=MAX_TOKENS).max_tokens == MAX_TOKENS
    with pytest.raises(InvalidInputError) as e: Constraints(max_tokens=10**12)
    assert f"max_tokens must be an integer in [1, {MAX_TOKENS}]" in str(e.value) and '1000000000000' in str(e.value)


def test_top_p_zero_is_refused_like_the_backends_do():
    with pytest.raises(InvalidInputError, match=r'top_p must be a number in \(0, 1\]'): Constraints(top_p=0.0)
    with pytest.raises(InvalidInputError, match=r'top_p must be a number in \(0, 1\]'): Constraints(top_p=math.nan)
    assert Constraints(top_p=1.0, temperature=0.0, max_latency_ms=250).top_p == 1.0


# 3. config values that used to be accepted and fail later

@pytest.mark.parametrize('d, msg', [
    ({'inference': {'tier_costs': {'tiny': math.nan}}}, "inference.tier_costs.tiny must be a finite number >= 0, got nan"),
    ({'inference': {'tier_costs': {'tiny': math.inf}}}, "inference.tier_costs.tiny must be a finite number >= 0, got inf"),
    ({'router': {'safe_top_p': 0.0}}, "router.safe_top_p must be a number in (0, 1], got 0.0"),
    ({'cache': {'judge_threads': 10**9}}, f"cache.judge_threads must be an integer in [0, {MAX_THREADS}], got 1000000000"),
    ({'system': {'num_threads': 10**9}}, f"system.num_threads must be an integer in [0, {MAX_THREADS}]"),
    ({'server': {'workers': 10**9}}, f"server.workers must be an integer in [1, {MAX_THREADS}]"),
    ({'memory': {'hnsw_insert_threads': 10**9}}, f"memory.hnsw_insert_threads must be an integer in [0, {MAX_THREADS}]"),
    ({'inference': {'max_tokens': 10**9}}, f"inference.max_tokens must be an integer in [1, {MAX_TOKENS}], got 1000000000"),
    ({'inference': {'n_ctx': 10**9}}, f"inference.n_ctx must be an integer in [128, {MAX_TOKENS}]"),
    ({'inference': {'max_tokens': 2048}}, "inference.max_tokens must be below inference.n_ctx (2048)"),
    ({'router': {'hidden_dim': 10**9}}, f"router.hidden_dim must be an integer in [1, {MAX_WIDTH}]"),
    ({'router': {'rank': 10**9}}, f"router.rank must be an integer in [1, {MAX_WIDTH}]"),
    ({'router': {'input_dim': 10**9}}, f"router.input_dim must be an integer in [64, {MAX_WIDTH}]"),
    ({'router': {'input_dim': 32}}, f"router.input_dim must be an integer in [64, {MAX_WIDTH}]"),
    ({'embedding': {'model': 'hashing', 'dim': 10**9}}, f"embedding.dim must be an integer in [8, {MAX_WIDTH}]"),
    ({'memory': {'propagate_edge_weights': {'Follows': math.nan}}}, "memory.propagate_edge_weights.Follows must be a finite number >= 0"),
    ({'memory': {'hnsw_ef_construction': 10**9}}, f"memory.hnsw_ef_construction must be an integer in [1, {MAX_WIDTH}], got 1000000000"),
    ({'memory': {'hnsw_ef_construction': 0}}, f"memory.hnsw_ef_construction must be an integer in [1, {MAX_WIDTH}], got 0"),
    ({'memory': {'hnsw_ef_search': 10**9}}, f"memory.hnsw_ef_search must be an integer in [1, {MAX_WIDTH}], got 1000000000"),
])
def test_config_refuses_values_that_fail_later(d, msg):
    with pytest.raises(ConfigError) as e: Config.from_dict(d)
    assert msg in str(e.value), str(e.value)


def test_config_still_accepts_the_edges_of_the_ranges():
    cfg = Config.from_dict({'router': {'safe_top_p': 1.0, 'input_dim': 64}, 'cache': {'judge_threads': MAX_THREADS},
                            'inference': {'n_ctx': 4096, 'max_tokens': 4095, 'tier_costs': {'tiny': 0, 'small': 2.5}}})
    assert (cfg.router.safe_top_p, cfg.cache.judge_threads, cfg.inference.max_tokens) == (1.0, MAX_THREADS, 4095)


def test_hnsw_ef_construction_edges_of_its_range_build_an_index(tmp_path):
    "Both ends of `memory.hnsw_ef_construction`'s range are accepted, and the memory builds its index with them."
    from ruvllm.embedding import HashingEmbedder
    from ruvllm.memory import Memory
    for ef in (1, MAX_WIDTH):
        cfg = Config.from_dict({'system': {'db_path': str(tmp_path / f'd{ef}')}, 'embedding': {'model': 'hashing', 'dim': 64},
                                'memory': {'hnsw_ef_construction': ef}})
        assert cfg.memory.hnsw_ef_construction == ef
        with Memory.open(cfg.db_path, HashingEmbedder(64), cfg) as mem:
            mem.ingest([f"fact number {i} about the river" for i in range(30)], progress=False)
            assert len(mem) == 30 and mem.index.ef_construction == ef


# 4. Config.from_toml on files that are not UTF-8 TOML

def test_from_toml_not_utf8(tmp_path):
    p = tmp_path / 'latin1.toml'
    p.write_bytes('[system]\ndb_path = "café"\n'.encode('latin-1'))
    with pytest.raises(ConfigError) as e: Config.from_toml(p, env=False)
    assert str(p) in str(e.value) and 'is not UTF-8 text' in str(e.value)
    (tmp_path / 'bin.toml').write_bytes(b'\xff\xfe\x00[')
    with pytest.raises(ConfigError, match='is not UTF-8 text'): Config.from_toml(tmp_path / 'bin.toml', env=False)


def test_from_toml_directory_and_non_path(tmp_path):
    with pytest.raises(ConfigError) as e: Config.from_toml(tmp_path, env=False)
    assert str(tmp_path) in str(e.value) and 'is a directory' in str(e.value)
    with pytest.raises(ConfigError, match='does not exist'): Config.from_toml(tmp_path / 'missing.toml', env=False)
    with pytest.raises(ConfigError, match='must be a path'): Config.load(5)

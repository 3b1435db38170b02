"A source that memory holds goes on in a later ingest, in its own namespace (found by a review of the change that added it)."
from ruvllm.config import Config
from ruvllm.embedding import make_embedder
from ruvllm.memory import Memory
from ruvllm.types import EdgeType


def test_one_source_name_in_two_namespaces_continues_each_in_its_own(tmp_path):
    """The chats 'chat' of two namespaces, then one turn more of each in one call: the beta turn followed the alpha one
    (links and turn contexts were keyed by the source name alone) instead of beta's last stored turn."""
    cfg = Config.builder().db_path(tmp_path / 'db').set('embedding.model', 'hashing').build()
    t = lambda s, x, ns: dict(text=f"[2023-05-07] {s}: {x}", source='chat', namespace=ns, metadata=dict(speaker=s))
    with Memory(tmp_path / 'db', make_embedder(cfg), cfg) as mem:
        a = mem.ingest([t('Ann', 'the boat leaves at nine', 'alpha'), t('Bo', 'I will bring the maps', 'alpha')], progress=False)
        b = mem.ingest([t('Cy', 'the budget is due Friday', 'beta'), t('Di', 'I sent it yesterday', 'beta')], progress=False)
        na, nb = mem.ingest([t('Ann', 'we are on the water now', 'alpha'), t('Cy', 'finance signed it off', 'beta')], progress=False)
        into = lambda n: [e.src for e in mem.edges_of(n) if e.type == EdgeType.FOLLOWS and e.dst == n]
        assert into(na) == [a[1]] and into(nb) == [b[1]]

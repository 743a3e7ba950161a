"""The rule file writer: the same YAML text PyYAML's own dumper writes, from a faster path."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from seclo.prometheus.rule_file import dump_yaml

_SCALARS = st.one_of(
    st.text(),
    st.sampled_from(["0", "true", "null", "1e3", "10m", "- a", "a: b", "# c", "{{ x }}", "", " lead"]),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _DOCUMENTS, max_size=4))
def test_dump_matches_pyyaml_text_and_reads_back(document: dict[str, object]) -> None:
    """Any mapping (a rule file is one) is written exactly as yaml.dump writes it with the same emitter, so
    it reads back unchanged."""
    expected = yaml.dump(
        document,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 20,
    )
    assert dump_yaml(document) == expected
    assert yaml.safe_load(dump_yaml(document)) == document

"""Every refusal of the contracts a member or an organisation meets comes back as a sentence: each
custom error of Claims, CostSharing and ConsortiumGovernor is in the client's error table, decodes
from its ABI encoding and has its own words (never the fallback that shows the error's name)."""

import pytest
from eth_abi import encode

from consortium.client.abi import artifacts
from consortium.client.errors import decode_revert, error_table
from consortium.wallet.words import explain

SAMPLE = {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "bytes": b"", "bool": True,
          "bytes32": b"\x11" * 32, "string": "x"}  # fmt: skip
CONTRACTS = ("Claims", "CostSharing", "ConsortiumGovernor")


def errors_of(contract: str) -> list[dict]:
    return [item for item in artifacts()[contract]["abi"] if item["type"] == "error"]


@pytest.mark.parametrize(
    "name, types",
    sorted({(e["name"], tuple(i["type"] for i in e["inputs"])) for c in CONTRACTS for e in errors_of(c)}),
)
def test_each_refusal_decodes_and_reads_as_a_sentence(name, types):
    values = [SAMPLE.get(t, 1_700_000_000 if t == "uint64" else 1) for t in types]
    selector = next(s for s, (n, ts) in error_table().items() if n == name and tuple(ts) == types)
    refusal = decode_revert(selector + encode(list(types), values))
    assert refusal.name == name
    words = explain(refusal)
    assert not words.startswith("the plan refused this"), words
    assert name not in words and "\n" not in words

"""The compiler runs the real solc (npm wasm build) and does not recompile an unchanged tree."""

from consortium import compiler


def test_unchanged_tree_is_not_recompiled(tmp_path, monkeypatch):
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Answer.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n"
        "contract Answer { function get() external pure returns (uint256) { return 42; } }\n"
    )
    monkeypatch.setattr(compiler, "CONTRACTS_DIR", src)
    monkeypatch.setattr(compiler, "ARTIFACTS", tmp_path / "build" / "contracts.json")

    first = compiler.compile_contracts()
    assert first["Answer"]["abi"][0]["name"] == "get"
    assert first["Answer"]["bytecode"].startswith("0x6080")
    stamp = compiler.ARTIFACTS.stat().st_mtime_ns

    assert compiler.compile_contracts() == first
    assert compiler.ARTIFACTS.stat().st_mtime_ns == stamp  # served from the cache

    (src / "Answer.sol").write_text((src / "Answer.sol").read_text().replace("42", "43"))
    assert compiler.compile_contracts()["Answer"]["bytecode"] != first["Answer"]["bytecode"]

"""Other clients against the dev node: Foundry's cast and ethers v6 (both from node_modules)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.processes import DEV_ADDRESSES, DEV_KEYS, ROOT

CAST = str(ROOT / "node_modules" / ".bin" / "cast")
HERE = Path(__file__).parent


def cast(*args: str) -> str:
    out = subprocess.run([CAST, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_cast(dev_node, probe_artifact):
    url = dev_node.url
    assert cast("chain-id", "--rpc-url", url) == "1337"
    assert int(cast("block-number", "--rpc-url", url)) >= 0
    recipient = "0x000000000000000000000000000000000000c0de"
    receipt = json.loads(
        cast("send", "--json", "--rpc-url", url, "--private-key", DEV_KEYS[0], recipient, "--value", "12345")
    )
    assert receipt["status"] == "0x1"
    assert cast("balance", "--rpc-url", url, recipient) == "12345"
    deployed = json.loads(
        cast(
            "send",
            "--json",
            "--rpc-url",
            url,
            "--private-key",
            DEV_KEYS[0],
            "--create",
            probe_artifact["bytecode"],
        )
    )
    probe = deployed["contractAddress"]
    cast(
        "send",
        "--rpc-url",
        url,
        "--private-key",
        DEV_KEYS[0],
        probe,
        "store(uint256,string)",
        "77",
        "from cast",
    )
    assert cast("call", "--rpc-url", url, probe, "value()(uint256)") == "77"
    fail = subprocess.run(
        [CAST, "call", "--rpc-url", url, probe, "fail()"], capture_output=True, text=True, timeout=60
    )
    assert fail.returncode != 0 and "probe says no" in fail.stderr
    block = json.loads(cast("block", "--json", "--rpc-url", url, "latest"))
    assert block["hash"].startswith("0x") and int(block["number"], 16) >= 2


ETHERS_SCRIPT = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, key, abiJson, bytecode] = process.argv.slice(2);
  // cacheTimeout -1: ethers otherwise reuses a nonce read < 250 ms ago, and blocks here come faster
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const wallet = new ethers.Wallet(key, provider);
  const out = { chainId: Number((await provider.getNetwork()).chainId) };
  const factory = new ethers.ContractFactory(JSON.parse(abiJson), bytecode, wallet);
  const probe = await factory.deploy();
  await probe.waitForDeployment();
  const tx = await probe.store(5, "from ethers");
  const receipt = await tx.wait();
  out.status = receipt.status;
  out.value = Number(await probe.value());
  out.events = receipt.logs.map((l) => probe.interface.parseLog(l).name);
  try {
    await probe.store.staticCall(5000000, "x");
  } catch (e) {
    out.customError = e.revert && e.revert.name;
    out.args = e.revert && e.revert.args.map(String);
  }
  try { await probe.fail.staticCall(); } catch (e) { out.reason = e.reason; }
  const feeData = await provider.getFeeData();
  out.eip1559 = feeData.maxFeePerGas > 0n;
  const seen = await probe.queryFilter(probe.filters.Stored(), 0, "latest");
  out.logs = seen.length;
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_ethers(dev_node, probe_artifact, tmp_path):
    script = tmp_path / "drive.js"
    script.write_text(ETHERS_SCRIPT)
    out = subprocess.run(
        [
            "node",
            str(script),
            dev_node.url,
            DEV_KEYS[1],
            json.dumps(probe_artifact["abi"]),
            probe_artifact["bytecode"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"NODE_PATH": str(ROOT / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["chainId"] == 1337
    assert result["status"] == 1 and result["value"] == 5
    assert result["events"] == ["Stored"]
    assert result["customError"] == "TooBig" and result["args"] == ["5000000", "1000000"]
    assert result["reason"] == "probe says no"
    assert result["eip1559"] is True
    assert result["logs"] == 1
    assert DEV_ADDRESSES[1]

"""geth's answer for a call that failed in the EVM (internal/ethapi/errors.go, accounts/abi).

A revert is code 3, "execution reverted" with the reason when the data is an Error(string) or a
Panic(uint256) (named as geth and ethers name panic codes), and the revert data as `data`; any
other failure is -32000 with geth's text for the VM error.
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import EXECUTION_REVERTED, RpcError
from node.trace.abc import error_text
from node.trace.call import unpack_revert
from node.trace.opcodes import NAMES

_OPCODE = re.compile(r"Invalid opcode 0x([0-9a-f]+)")


def revert_message(output: bytes) -> str:
    reason = unpack_revert(output)
    return "execution reverted" if reason is None else f"execution reverted: {reason}"


def revert_error(output: bytes) -> RpcError:
    return RpcError(EXECUTION_REVERTED, revert_message(output), "0x" + output.hex())


def vm_error_text(error: Any) -> str:
    """geth's text (core/vm/errors.go) for a py-evm error, naming an invalid opcode as geth does."""
    match = _OPCODE.search(str(error))
    return error_text(error, NAMES[int(match.group(1), 16) & 0xFF] if match else "INVALID")

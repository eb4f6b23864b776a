"""geth's names for opcodes and how many stack items each takes under Prague (core/vm/opcodes.go).

py-evm names a few differently (SHA3, PREVRANDAO); traces must carry geth's names, which
debuggers key on. An unassigned byte is named as geth names it: "opcode 0xc not defined". Names
geth knows from later forks (CLZ, EOF) are undefined under Prague and take nothing from the stack.
"""

from __future__ import annotations

_NAMED = {
    0x00: ("STOP", 0), 0x01: ("ADD", 2), 0x02: ("MUL", 2), 0x03: ("SUB", 2), 0x04: ("DIV", 2),
    0x05: ("SDIV", 2), 0x06: ("MOD", 2), 0x07: ("SMOD", 2), 0x08: ("ADDMOD", 3), 0x09: ("MULMOD", 3),
    0x0A: ("EXP", 2), 0x0B: ("SIGNEXTEND", 2),
    0x10: ("LT", 2), 0x11: ("GT", 2), 0x12: ("SLT", 2), 0x13: ("SGT", 2), 0x14: ("EQ", 2),
    0x15: ("ISZERO", 1), 0x16: ("AND", 2), 0x17: ("OR", 2), 0x18: ("XOR", 2), 0x19: ("NOT", 1),
    0x1A: ("BYTE", 2), 0x1B: ("SHL", 2), 0x1C: ("SHR", 2), 0x1D: ("SAR", 2), 0x1E: ("CLZ", 0),
    0x20: ("KECCAK256", 2),
    0x30: ("ADDRESS", 0), 0x31: ("BALANCE", 1), 0x32: ("ORIGIN", 0), 0x33: ("CALLER", 0),
    0x34: ("CALLVALUE", 0), 0x35: ("CALLDATALOAD", 1), 0x36: ("CALLDATASIZE", 0),
    0x37: ("CALLDATACOPY", 3), 0x38: ("CODESIZE", 0), 0x39: ("CODECOPY", 3), 0x3A: ("GASPRICE", 0),
    0x3B: ("EXTCODESIZE", 1), 0x3C: ("EXTCODECOPY", 4), 0x3D: ("RETURNDATASIZE", 0),
    0x3E: ("RETURNDATACOPY", 3), 0x3F: ("EXTCODEHASH", 1),
    0x40: ("BLOCKHASH", 1), 0x41: ("COINBASE", 0), 0x42: ("TIMESTAMP", 0), 0x43: ("NUMBER", 0),
    0x44: ("DIFFICULTY", 0), 0x45: ("GASLIMIT", 0), 0x46: ("CHAINID", 0), 0x47: ("SELFBALANCE", 0),
    0x48: ("BASEFEE", 0), 0x49: ("BLOBHASH", 1), 0x4A: ("BLOBBASEFEE", 0), 0x4B: ("SLOTNUM", 0),
    0x50: ("POP", 1), 0x51: ("MLOAD", 1), 0x52: ("MSTORE", 2), 0x53: ("MSTORE8", 2),
    0x54: ("SLOAD", 1), 0x55: ("SSTORE", 2), 0x56: ("JUMP", 1), 0x57: ("JUMPI", 2), 0x58: ("PC", 0),
    0x59: ("MSIZE", 0), 0x5A: ("GAS", 0), 0x5B: ("JUMPDEST", 0), 0x5C: ("TLOAD", 1),
    0x5D: ("TSTORE", 2), 0x5E: ("MCOPY", 3), 0x5F: ("PUSH0", 0),
    0xD0: ("DATALOAD", 0), 0xD1: ("DATALOADN", 0), 0xD2: ("DATASIZE", 0), 0xD3: ("DATACOPY", 0),
    0xE0: ("RJUMP", 0), 0xE1: ("RJUMPI", 0), 0xE2: ("RJUMPV", 0), 0xE3: ("CALLF", 0),
    0xE4: ("RETF", 0), 0xE5: ("JUMPF", 0), 0xE6: ("DUPN", 0), 0xE7: ("SWAPN", 0),
    0xE8: ("EXCHANGE", 0), 0xEC: ("EOFCREATE", 0), 0xEE: ("RETURNCONTRACT", 0),
    0xF0: ("CREATE", 3), 0xF1: ("CALL", 7), 0xF2: ("CALLCODE", 7), 0xF3: ("RETURN", 2),
    0xF4: ("DELEGATECALL", 6), 0xF5: ("CREATE2", 4), 0xF7: ("RETURNDATALOAD", 0),
    0xF8: ("EXTCALL", 0), 0xF9: ("EXTDELEGATECALL", 0), 0xFA: ("STATICCALL", 6),
    0xFB: ("EXTSTATICCALL", 0), 0xFD: ("REVERT", 2), 0xFE: ("INVALID", 0), 0xFF: ("SELFDESTRUCT", 1),
}  # fmt: skip
_NAMED.update({0x60 + i: (f"PUSH{i + 1}", 0) for i in range(32)})
_NAMED.update({0x80 + i: (f"DUP{i + 1}", i + 1) for i in range(16)})
_NAMED.update({0x90 + i: (f"SWAP{i + 1}", i + 2) for i in range(16)})
_NAMED.update({0xA0 + i: (f"LOG{i}", i + 2) for i in range(5)})

NAMES: tuple[str, ...] = tuple(
    _NAMED[op][0] if op in _NAMED else f"opcode {op:#x} not defined" for op in range(256)
)
STACK_IN: tuple[int, ...] = tuple(_NAMED[op][1] if op in _NAMED else 0 for op in range(256))

CALL, CALLCODE, DELEGATECALL, STATICCALL = 0xF1, 0xF2, 0xF4, 0xFA
CREATE, CREATE2, SELFDESTRUCT = 0xF0, 0xF5, 0xFF
SLOAD, SSTORE = 0x54, 0x55
CALLS = frozenset((CALL, CALLCODE, DELEGATECALL, STATICCALL))
CREATES = frozenset((CREATE, CREATE2))

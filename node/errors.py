"""Errors that cross layers, with the texts and codes clients already know."""

from __future__ import annotations


class NodeError(Exception):
    pass


class InvalidBlock(NodeError):
    """A block that does not follow head, breaks the rules, or whose execution does not match."""


class TxRejected(NodeError):
    """The pool refused a transaction; the message is geth's text for the reason."""


class RpcError(NodeError):
    """A JSON-RPC error reply: code, message and optional data."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __reduce__(self) -> tuple:
        """Picklable as the error it answers (the call worker process sends its refusals back)."""
        return RpcError, (self.code, self.message, self.data)


# JSON-RPC 2.0 and geth codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # geth: transaction refused, header not found, ...
EXECUTION_REVERTED = 3
LIMIT_EXCEEDED = -32005

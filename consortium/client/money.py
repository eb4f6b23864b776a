"""Amounts in words: fen (the integers the contracts hold) shown as yuan, exactly (no floats)."""


def yuan(fen: int) -> str:
    """-1,234.05 for -123405 fen: thousands separated, always two decimals."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def rmb(fen: int) -> str:
    """-RMB 1,234.05 for -123405 fen: yuan with its currency, the sign in front."""
    amount = yuan(fen)
    return f"-RMB {amount[1:]}" if amount.startswith("-") else f"RMB {amount}"

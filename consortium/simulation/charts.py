"""PNG charts of a report (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw(out: Path, rows: list[dict]) -> list[Path]:
    periods = [r["period"] for r in rows]
    paths = []

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(periods, [r["members_sharing"] for r in rows], marker="o", label="sharing at the close")
    ax.plot(periods, [r["members_in_plan"] for r in rows], linestyle="--", label="in the plan")
    ax.set(title="Members over time", xlabel="period (half a month)", ylabel="members")
    ax.legend()
    paths.append(_save(fig, out / "members.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(periods, [r["share_fen"] / 100 for r in rows], color="tab:orange")
    ax.set(title="Share per member per period", xlabel="period (half a month)", ylabel="RMB")
    paths.append(_save(fig, out / "share.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = [0] * len(rows)
    for key, label in (
        ("accepted", "accepted (paid)"),
        ("denied", "denied by the jury"),
        ("rejected", "rejected in review"),
        ("refused_in_waiting", "refused: waiting period"),
        ("objected", "objected in notice"),
    ):
        values = [r[key] for r in rows]
        ax.bar(periods, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set(title="Claims by outcome", xlabel="period (half a month)", ylabel="claims")
    ax.legend(fontsize="small")
    paths.append(_save(fig, out / "claims.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

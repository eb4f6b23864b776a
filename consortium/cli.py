"""The `hubao` command: one entry point, a subcommand group per user of the system.

Groups load lazily so that `hubao wallet ...` does not import the node or the simulator.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group
COMMANDS = {
    "compile": "consortium.compiler:compile_command",
    "demo": "consortium.demo:demo",
    "node": "consortium.nodes.cli:node",
    "net": "consortium.network.cli:net",
    "org": "consortium.network.cli:org",
    "wallet": "consortium.wallet.cli:wallet",
    "operator": "consortium.operator.cli:operator",
    "evidence": "consortium.evidence.cli:evidence",
    "simulate": "consortium.simulation.cli:simulate",
    "web": "consortium.web.cli:web",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # that part of the system is not built yet
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="hubao")
def main() -> None:
    """Hubao: online mutual aid on a permissioned QBFT consortium chain."""


if __name__ == "__main__":
    main()

"""`hubao web`: the public notice board, "my membership" and the consortium console, served from
JSON-RPC reads alone (any node with the suite deployed, anvil included), updated live."""

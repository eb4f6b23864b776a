"""Node kinds, assembled from node/'s parts in one place: `dev.py` (the one-process dev chain),
`consortium.py` (one organisation's QBFT node) and `cli.py` (`hubao node run`)."""

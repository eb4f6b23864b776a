"""scripts/soak_hostile.py's parts: every attack of issue 16 repeated in a loop (`rpc_attacks`,
`peer_attacks`, on `base.Attack`), the honest client and the node measurements (`measure`).

The attacks' own code is the hostile tests' (tests/support/attacks.py, tests/hostile/peernet.py):
this package only repeats it and counts. It imports `tests.support`, so the project root goes on
sys.path here (scripts run from scripts/, where `soak` is found)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

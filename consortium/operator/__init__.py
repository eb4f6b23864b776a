"""The platform staff's work on the plan, as importable functions (the CLI and the simulator call
the same ones): enrollment, claim review, jurors, settlement."""

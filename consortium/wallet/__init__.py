"""The claimant's wallet: encrypted keys and the member's actions on the plan."""

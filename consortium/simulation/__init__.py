"""`hubao simulate`: a population of members driven through the plan on a running consortium,
then a report recomputed from the chain (period table, reconciliation to the fen, charts)."""

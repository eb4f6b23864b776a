"""QBFT consensus (EEA QBFT spec, Besu's split): wire messages, header extraData and seals,
message validation, the round state machine, the per-height manager, validator votes, and the
engine that plugs into the node.
"""

"""What is built on scores: comparisons, counterfactuals, sensitivity, calibration,
the rule checker's proofs, completeness and the report.

Each module takes an :class:`engine.api.Engine` (or a rule set) and returns plain
results; none prints, and the CLI renders what they return.
"""

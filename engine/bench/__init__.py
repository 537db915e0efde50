"""The benchmark (``latticework bench``) and the synthetic profiles it scores.

Kept out of the pipeline: nothing in scoring depends on it.
"""

"""Data stage: CoNLL files -> normalised sentences -> label maps, mixtures -> padded batches.

Nothing here imports JAX models; the data layer is plain Python and NumPy.
"""

"""Representations and figures: pooled embeddings, UMAP grids with measured claims, training curves."""

"""Using a trained or released model without the training stack: score variants (variants.py), embed
sequences (embedding.py), load a model directory with its tokenizer (loading.py)."""

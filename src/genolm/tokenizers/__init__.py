"""Tokenizers that turn DNA sequences into model input ids."""

from genolm.tokenizers.character import CharacterTokenizer

__all__ = ["CharacterTokenizer"]

"""Tokenizers that turn DNA sequences into model input ids, behind one interface (`Tokenizer`).

    TOKENIZERS                      registry name -> class
    build(name, **kwargs)           a tokenizer by registry name, e.g. build("kmer", k=6, stride=3)
    from_pretrained(directory)      any directory genolm saved, or a DNABERT checkpoint directory
    tokens_for_bases(spec, bases)   the tokens (framing included) of a `bases`-long input under a spec's tokenizer

docs/tokenizers.md describes the id layouts and when to use which.
"""

from genolm.tokenizers.base import Tokenizer
from genolm.tokenizers.bpe import KmerBPETokenizer
from genolm.tokenizers.byte import ByteTokenizer
from genolm.tokenizers.character import CharacterTokenizer
from genolm.tokenizers.kmer import KmerTokenizer, NonOverlappingKmerTokenizer
from genolm.tokenizers.registry import TOKENIZERS, build, from_pretrained, tokens_for_bases

__all__ = [
    "TOKENIZERS",
    "ByteTokenizer",
    "CharacterTokenizer",
    "KmerBPETokenizer",
    "KmerTokenizer",
    "NonOverlappingKmerTokenizer",
    "Tokenizer",
    "build",
    "from_pretrained",
    "tokens_for_bases",
]

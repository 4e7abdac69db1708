"""Study 2: "Small transformers for bioinformatics tasks" (master's thesis, University of Bologna): Longformer and
Longalbert pretrained on mitochondrial and human genomes, fine-tuned on 12S species classification, TSS
localization and chromatin profiles (docs/studies/small_transformers.md)."""

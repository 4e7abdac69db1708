"""Study 3, virBERT: a DNABERT-style BERT pretrained on viral genomes, fine-tuned to tell phages from other viruses
with scarce labels (GenomeNet-BERT paper and the virBERT thesis)."""

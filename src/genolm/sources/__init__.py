"""Public sources: fetching (download, checksums, release listings, BGZF) and parsing what they provide
(reference genomes, somatic mutations, RefSeq assemblies, mitochondrial genomes, viral genomes, benchmarks)."""

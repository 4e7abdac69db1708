"""Reference data: downloading public sources and reading the genome, annotation and sample files they provide."""

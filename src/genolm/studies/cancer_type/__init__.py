"""Study 1: HyenaDNA cancer-type classification from GRCh38 windows carrying a cell line's somatic mutations."""

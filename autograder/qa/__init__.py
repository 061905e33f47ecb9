"""Quality assurance and demonstration: the catalogue of variants, mutants, the sample class, the demo."""

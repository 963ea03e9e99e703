"""Reports in the study's table layouts with paired-bootstrap intervals (``harness report``),
paired comparisons (``harness compare``) and choosing a training language (``harness pick-lang``).
See docs/report.md."""

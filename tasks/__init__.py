"""lm-eval task folders (one per benchmark family). Pass this folder to lm-eval as
``--include_path``; ``harness tasks-path`` prints it (:func:`harness.eval.tasks.tasks_dir`)."""

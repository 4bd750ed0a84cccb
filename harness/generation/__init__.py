"""The generation stage: a run config and a benchmark through a backend into a run folder
(generate.py the loop; run_folder.py, run_config.py and resume.py the folder's files, its
config.toml and resumption; prompts.py the prompts; routing.py which adapter answers an
example; backend.py opening the backend; sampling.py `--samples N`)."""

"""BIRD's official semantics: the judge, Soft-F1/R-VES and the selftest rule."""

"""Spider's official semantics: the grammar, the judge, plug-value and the lexer."""

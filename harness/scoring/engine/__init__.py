"""The machinery that runs untrusted SQL: the sandbox, the worker pool and the caches."""

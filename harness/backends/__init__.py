"""Ways of getting completions (one module per backend), behind `base.Backend`."""

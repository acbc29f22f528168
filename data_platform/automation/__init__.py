"""Layer policy for every asset: how it follows upstream, and how fresh it must be."""

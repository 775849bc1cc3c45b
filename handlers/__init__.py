"""The HTTP layer: one module per spec tag. Handlers only translate."""

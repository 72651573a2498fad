"""The loaders, one module per file type."""

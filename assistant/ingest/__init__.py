"""Ingest: loading files with their metadata, the loaders, segmenting, what is in force, staff uploads."""

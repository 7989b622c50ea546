"""Reports on receivables and collections: aging, DSO and collections activity (no models of its own)."""

"""Finance's view across both sides of the ledger (no models of its own): what the operator charged against what
the partner billed and collected, per period and customer (exposure, margin), what was never re-billed or has no
operator charge behind it (leakage), and operator due dates against expected customer collections (cash flow)."""

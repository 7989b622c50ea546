"""What fraud monitoring listens to: a reconciliation file imported (signals are computed after each import)."""

"""The web pages, one module per area: sign-in, customers, billing, audit, API tokens and the customer portal."""

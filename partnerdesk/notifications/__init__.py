"""The one email path of PartnerDesk: queue in the change's transaction, send from a worker over SMTP, keep
every message with its delivery status."""

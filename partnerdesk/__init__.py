"""PartnerDesk: billing support for a 21Vianet cloud partner."""

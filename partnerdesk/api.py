from ninja import NinjaAPI

api = NinjaAPI(title="PartnerDesk API", version="1")

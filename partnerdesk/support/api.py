"""The support desk's API (cases, conversation, queues, desk settings): the routers of api_cases and api_desk."""

from ninja import Router

from .api_cases import router as cases_router
from .api_desk import router as desk_router

router = Router(tags=["support"])
router.add_router("", desk_router)
router.add_router("", cases_router)

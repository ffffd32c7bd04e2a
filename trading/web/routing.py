"""Websocket routes of the live pages (composed into the ASGI app by pms_site.asgi)."""

from django.urls import path

from trading import consumers

websocket_urlpatterns = [
    path("ws/desk/", consumers.DeskConsumer.as_asgi()),
    path("ws/account/<int:sub_account_id>/", consumers.AccountConsumer.as_asgi()),
    path("ws/market/", consumers.MarketConsumer.as_asgi()),
]

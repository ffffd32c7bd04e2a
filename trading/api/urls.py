"""Routes of /api/v1/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from trading.api import sse, views

app_name = "api"

urlpatterns = [
    path("sub-accounts/", views.SubAccountListApi.as_view(), name="sub-accounts"),
    path("sub-accounts/<int:sub_account_id>/", views.SubAccountDetailApi.as_view(), name="sub-account"),
    path("sub-accounts/<int:sub_account_id>/positions/", views.PositionListApi.as_view(), name="positions"),
    path("sub-accounts/<int:sub_account_id>/orders/", views.OrderListApi.as_view(), name="orders"),
    path("sub-accounts/<int:sub_account_id>/fills/", views.FillListApi.as_view(), name="fills"),
    path("sub-accounts/<int:sub_account_id>/ledger/", views.LedgerListApi.as_view(), name="ledger"),
    path("orders/", views.OrderPlaceApi.as_view(), name="order-place"),
    path("orders/<str:client_order_id>/cancel/", views.OrderCancelApi.as_view(), name="order-cancel"),
    path("commands/<uuid:command_id>/", views.CommandDetailApi.as_view(), name="command"),
    path("algos/", views.AlgoListApi.as_view(), name="algos"),
    path("algos/<int:algo_run_id>/", views.AlgoDetailApi.as_view(), name="algo"),
    *[path(f"algos/{kind}/", views.algo_start_api(kind).as_view(), name=f"algo-start-{kind}")
      for kind in ("chase", "scalper", "twap", "trail_stop")],
    path("algos/twap_basket/", views.TwapBasketStartApi.as_view(), name="algo-start-twap-basket"),
    *[path(f"algos/<int:algo_run_id>/{action}/", views.algo_action_api(action).as_view(), name=f"algo-{action}")
      for action in ("stop", "pause", "resume")],
    path("engine/", views.EngineStatusApi.as_view(), name="engine"),
    path("events/stream", sse.event_stream, name="events-stream"),
    *[path(f"engine/{action}/", views.engine_control_api(action).as_view(), name=f"engine-{action}")
      for action in ("start", "stop", "pause", "resume")],
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

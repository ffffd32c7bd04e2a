"""Routes of the operator pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from trading.web import views

app_name = "web"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("accounts/<int:sub_account_id>/", views.account, name="account"),
    path("accounts/<int:sub_account_id>/algos/<str:kind>/", views.algo_form, name="algo-form"),
    path("algos/<int:algo_run_id>/<str:action>/", views.algo_action, name="algo-action"),
    path("orders/<str:client_order_id>/cancel/", views.order_cancel, name="order-cancel"),
    path("market/", views.market, name="market"),
    path("engine/control/", views.engine_control, name="engine-control"),
    path("events/", views.events, name="events"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
]

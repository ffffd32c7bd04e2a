"""Operator pages: server-rendered, one template per page with partials that the websocket re-sends."""

"""The app's routers, one per area; `web.app.create_app` assembles them."""

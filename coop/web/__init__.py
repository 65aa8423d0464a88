"""Public pages: server-rendered, working without JavaScript, on the same services as the API."""

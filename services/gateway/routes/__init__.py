"""Route tables of the gateway, one module per area; ``app.create_app`` adds them all."""

"""``make bench``: the token verification hot path over the bus, against 1 and 2 token-service replicas,
beside the ceilings of the bus and the store measured in the same run (``../shared/peers/limits``), and
optionally refresh-with-rotation over HTTP beside node-oidc-provider (``--peer``)."""

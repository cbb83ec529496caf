"""Images: references, registries.conf, credentials, the registry client, manifests,
pull. Everything here but `reference` is off the hot path (httpx loads here only)."""

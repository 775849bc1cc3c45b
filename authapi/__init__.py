"""The auth API's domain: settings, tokens, passwords, storage and the app factory."""

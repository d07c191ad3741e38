"""The Discourse-compatible local forum (demo and tests). See docs/CONTRACTS.md."""


def create_localforum_app(settings, **kwargs):
    """Lazy import so `import forumsync.localforum` stays cheap."""
    from .app import create_localforum_app as factory

    return factory(settings, **kwargs)

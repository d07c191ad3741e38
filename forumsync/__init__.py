"""forumsync: bridge between the Publik users' club mailing list and its Discourse forum."""

__version__ = "0.1.0"

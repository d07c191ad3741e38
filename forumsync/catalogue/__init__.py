"""forumsync.catalogue"""

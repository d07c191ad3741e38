"""forumsync.forum"""

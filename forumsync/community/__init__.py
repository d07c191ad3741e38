"""forumsync.community"""

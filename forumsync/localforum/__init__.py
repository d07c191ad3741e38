"""forumsync.localforum"""

"""forumsync.web"""

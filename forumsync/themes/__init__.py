"""forumsync.themes"""

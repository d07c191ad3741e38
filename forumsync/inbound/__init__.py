"""forumsync.inbound"""

"""forumsync.outbound"""

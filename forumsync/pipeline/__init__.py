"""forumsync.pipeline"""

"""Command families of the `forumsync` CLI: each module exposes COMMANDS, a list of click commands."""

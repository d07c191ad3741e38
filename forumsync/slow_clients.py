"""A request to forumsync's web servers must arrive whole within REQUEST_SECONDS.

waitress closes a connection idle for ``channel_timeout``, but a client that sends one byte
every few seconds is never idle: it kept its connection, and its thread of the parser, for as
long as it liked (red team, tenth pass; nginx in front does the real guarding, see
docs/deploy.md). Each connection now notes when the request it is receiving began, and the
server's periodic maintenance closes the connections whose request is still incomplete
after REQUEST_SECONDS (never one whose complete request the application is serving).
"""
from __future__ import annotations

import time

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

REQUEST_SECONDS = 60  # headers and body: 25 MB at 3.3 Mbit/s
CHECK_SECONDS = 10  # how often the server looks (waitress's cleanup_interval)


class _CountedRequests(list):
    """A channel's queue of complete requests, counting those ever queued: the service thread
    takes them off as it serves them, so the queue's length cannot tell whether one came."""

    queued = 0

    def append(self, request):
        self.queued += 1
        super().append(request)


class DeadlineChannel(HTTPChannel):
    """waitress's channel, knowing since when its current request has been arriving: from the
    first byte received after the last complete request. waitress reads a blank line as an
    empty request, complete at once and never queued: a client sending only blank lines was
    never idle and never « receiving a request », and kept its connection (red team,
    twenty-third pass); its bytes now count as a request arriving."""

    request_began: float | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests = _CountedRequests()

    def received(self, data):
        if data and self.request_began is None:
            self.request_began = time.time()
        queued = self.requests.queued
        result = super().received(data)
        if self.requests.queued > queued:  # a request came whole: the next one begins now, if any
            self.request_began = time.time() if self.request is not None else None
        return result

    def service(self):
        """Serve the queued requests; a next request begun meanwhile is timed from now: waitress
        reads nothing while one is served (red team, twenty-sixth pass: a pipelining client was
        cut as soon as a slow answer ended)."""
        try:
            return super().service()
        finally:
            if self.request_began is not None:
                self.request_began = time.time()


def _close_late_requests(server, now: float) -> None:
    for channel in list(server.active_channels.values()):
        began = getattr(channel, "request_began", None)
        if began is not None and not channel.requests and now - began > REQUEST_SECONDS:
            channel.will_close = True


def enforce_request_deadline(server_map: dict) -> None:
    """Give every waitress server of SERVER_MAP (``create_server``'s map) the deadline."""
    for server in list(server_map.values()):
        if not isinstance(server, BaseWSGIServer):
            continue
        server.channel_class = DeadlineChannel
        maintenance = server.maintenance

        def checked(now, server=server, maintenance=maintenance):
            maintenance(now)
            _close_late_requests(server, now)

        server.maintenance = checked

"""Loading the scales in the background: every scale with something to send is loaded, several at a
time, each by one worker at a time; a scale that fails waits (doubling up to a limit) and is tried
again; every scale is asked how it is now and then, and one that answers again after failing gets what
it missed at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from osuite.scales import service
from osuite.scales.service import Scales, ScalesError

log = logging.getLogger("osuite.scales")


class Uploader:
    def __init__(self, scales: Scales) -> None:
        self.scales = scales
        self.pool = ThreadPoolExecutor(scales.settings.upload_workers, thread_name_prefix="scale")
        self.busy: dict[str, Future[object]] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        scales.changed = self._wake.set

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        polled_at = 0.0
        clock = 0.0
        while not stop.is_set():
            try:
                self.start_due()
                if clock - polled_at >= self.scales.settings.poll_seconds:
                    polled_at = clock
                    self.poll_idle()
            except Exception:  # a bug or a database error must not stop the scales being loaded
                log.exception("the uploader failed; going on")
            self._wake.wait(1.0)
            self._wake.clear()
            clock += 1.0
        self.pool.shutdown(wait=True, cancel_futures=True)

    def start_due(self) -> list[str]:
        seat = self.scales.seat
        if seat is not None and not seat.state().working:
            return []  # the license stopped the scale server: no uploads until it allows them again
        started = []
        for scale_id in service.due(self.scales):
            if self._submit(scale_id, partial(self._upload, scale_id)):
                started.append(scale_id)
        return started

    def poll_idle(self) -> None:
        for scale_id in service.enabled_scales(self.scales):
            self._submit(scale_id, partial(service.poll, self.scales, scale_id))

    def _upload(self, scale_id: str) -> object:
        try:
            return service.upload(self.scales, scale_id)
        except ScalesError as exc:
            log.warning("scale %s not loaded: %s", scale_id, exc.message)
            return None

    def _submit(self, scale_id: str, work: Callable[[], object]) -> bool:
        with self._lock:
            running = self.busy.get(scale_id)
            if running is not None and not running.done():
                return False
            future = self.pool.submit(work)
            self.busy[scale_id] = future
        future.add_done_callback(lambda _f: self._wake.set())
        return True

    def idle(self) -> bool:
        with self._lock:
            return all(f.done() for f in self.busy.values())

"""Background ingests: one at a time, with progress, while the server keeps answering.

Staff start a job (add files, remove a document) and get its id at once; the job runs on a
single worker thread — ingests of one index folder never overlap — and reports its progress
(chunks embedded of the total) until it is done or failed. Finished jobs are kept for a while
so a client polling a little late still finds the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]
Progress = Callable[[int, int], None]
Work = Callable[[Progress], Any]  # returns something with .to_json()


@dataclass
class Job:
    """One background operation and what is known of it so far."""

    id: str
    kind: str
    state: State = "queued"
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "created": self.created,
            "finished": self.finished,
            "result": self.result,
            "error": self.error,
        }


class Jobs:
    """A queue of ingest jobs run one by one on a background thread."""

    def __init__(self, keep: int = 100) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, work: Work, then: Callable[[], None] | None = None) -> Job:
        """Queue `work`; `then` runs after it succeeds (e.g. to serve the new index)."""
        job = Job(uuid.uuid4().hex, kind)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
        self._pool.submit(self._run, job, work, then)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def busy(self) -> bool:
        with self._lock:
            return any(j.state in ("queued", "running") for j in self._jobs.values())

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _run(job: Job, work: Work, then: Callable[[], None] | None) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        job.state = "running"
        started = time.perf_counter()
        try:
            outcome = work(progress)
            job.result = outcome.to_json()
            if then is not None:
                then()
            job.state = "done"
        except AssistantError as exc:
            job.error = {"code": exc.code, "zh": exc.zh, "en": exc.en}
            job.state = "failed"
        except Exception as exc:  # a bug must fail the job, not kill the worker thread
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.error = {
                "code": "internal_error",
                "zh": f"任务失败：{exc}",
                "en": f"the job failed: {exc}",
            }
            job.state = "failed"
        job.finished = time.time()
        log.info(
            "job %s (%s) %s in %.1f s", job.id, job.kind, job.state, time.perf_counter() - started
        )

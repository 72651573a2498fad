"""Staff, with the admin key: the documents (list, upload, remove), the background jobs
that change them, the records of exchanges and feedback, and the page's staff sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from assistant.serve import service
from assistant.serve.access import STAFF_COOKIE, StaffTokens
from assistant.serve.api.errors import ApiError
from assistant.serve.api.guards import Served, admin
from assistant.serve.jobs import Job

UPLOAD_PATH = "/v1/admin/documents"  # the body limit and the admission check know it by path

router = APIRouter(tags=["staff"], dependencies=[Depends(admin)])


def started(job: Job) -> dict[str, Any]:
    """A job just queued, with where to follow it."""
    return {**job.to_json(), "status_url": f"/v1/admin/jobs/{job.id}"}


@router.get("/v1/admin/documents")
def documents(runtime: Served) -> dict[str, Any]:
    """The indexed documents with their metadata, and which of them staff uploaded."""
    index = runtime.services.index
    uploaded = dict(service.uploaded_documents(runtime))
    return {
        "index_version": index.manifest.version,
        "documents": [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "doc_number": d.doc_number,
                "chunks": d.chunks,
                "metadata": d.metadata,
                "uploaded": d.doc_id in uploaded,
            }
            for d in index.manifest.documents.values()
        ],
    }


@router.post(UPLOAD_PATH, status_code=202)
def upload(runtime: Served, files: Annotated[list[UploadFile], File()]) -> dict[str, Any]:
    """Add or replace policy files. The ingest runs in the background (poll the job);
    answers come from the old index until the new one is complete."""
    staging, paths = service.stage_uploads([(f.filename, f.file) for f in files])
    return started(service.add_documents(runtime, paths, staging))


@router.post("/v1/admin/page-session")
def page_session(request: Request) -> JSONResponse:
    """Sign staff in on the page: a cookie, signed with the admin key, that the page's
    upload route asks for (the page's own upload cannot carry the key)."""
    tokens: StaffTokens = request.app.state.staff_tokens
    response = JSONResponse({"ok": True, "expires_in": int(tokens.ttl)})
    response.set_cookie(
        STAFF_COOKIE,
        tokens.issue(),
        max_age=int(tokens.ttl),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.delete("/v1/admin/documents/{doc_id:path}", status_code=202)
def remove(doc_id: str, runtime: Served) -> dict[str, Any]:
    """Remove a document staff uploaded; in the background, like an upload."""
    job, _ = service.remove_uploaded(runtime, doc_id)
    return started(job)


@router.get("/v1/admin/jobs/{job_id}")
def job_status(job_id: str, runtime: Served) -> dict[str, Any]:
    """A background ingest: queued, running (chunks embedded of the total), done or failed."""
    job = runtime.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "unknown_job", f"没有编号为 {job_id} 的任务。", f"No job {job_id!r}.")
    return job.to_json()


@router.get("/v1/admin/records")
def records(
    runtime: Served,
    since: Annotated[datetime | None, Query(description="ISO date or time")] = None,
    only: Annotated[Literal["all", "unanswered", "negative"], Query()] = "all",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Exchanges and feedback for staff; above all the unanswered and the thumbs-down."""
    from assistant.serve.records import to_csv

    rows = runtime.records.export(since, only)
    if format == "csv":
        return PlainTextResponse(to_csv(rows), media_type="text/csv; charset=utf-8")
    return {"records": rows}

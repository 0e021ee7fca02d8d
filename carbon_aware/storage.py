"""Map local paths and Cloud Storage URIs to files the trainer can open.

Vertex AI custom jobs and Vertex AI Pipelines mount Cloud Storage with Cloud
Storage FUSE at ``/gcs``, so ``gs://bucket/obj`` is readable and writable as
``/gcs/bucket/obj``. Off Vertex (a laptop, CI) there is no such mount: files are
then downloaded with ``google-cloud-storage`` for reading, and writing to a
``gs://`` output directory is refused with a clear message.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

GCS_PREFIX = "gs://"
GCS_FUSE_ROOT = Path("/gcs")


class StorageError(RuntimeError):
    """A Cloud Storage object could not be read (no credentials, no library)."""


def is_gcs_uri(uri: str) -> bool:
    """Tell whether ``uri`` is a Cloud Storage URI.

    Args:
        uri: A local path or a ``gs://`` URI.

    Returns:
        True for ``gs://...`` URIs.
    """
    return uri.startswith(GCS_PREFIX)


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """Split ``gs://bucket/object`` into bucket and object name.

    Args:
        uri: A ``gs://`` URI.

    Returns:
        The bucket name and the object name (may be empty for a bucket root).

    Raises:
        ValueError: If ``uri`` is not a ``gs://`` URI with a bucket name.
    """
    if not is_gcs_uri(uri):
        raise ValueError(f"not a Cloud Storage URI: {uri!r}; expected gs://BUCKET/OBJECT")
    bucket, _, obj = uri[len(GCS_PREFIX) :].partition("/")
    if not bucket:
        raise ValueError(f"Cloud Storage URI {uri!r} has no bucket; expected gs://BUCKET/OBJECT")
    return bucket, obj


def local_path_for(uri: str) -> Path:
    """Return the local path of a file or directory.

    Args:
        uri: A local path (returned unchanged) or ``gs://bucket/obj``, which maps
            to ``/gcs/bucket/obj`` (the Cloud Storage FUSE mount on Vertex AI).

    Returns:
        The path to use with ordinary file APIs.
    """
    if not is_gcs_uri(uri):
        return Path(uri)
    bucket, obj = split_gcs_uri(uri)
    return GCS_FUSE_ROOT / bucket / obj


def join_uri(base: str, name: str) -> str:
    """Join a file name onto a directory given as a local path or ``gs://`` URI.

    Args:
        base: A directory path or ``gs://`` URI.
        name: A file name inside it.

    Returns:
        ``base/name`` in the same form as ``base``.
    """
    if is_gcs_uri(base):
        return base.rstrip("/") + "/" + name
    return str(Path(base) / name)


def fetch(uri: str) -> Path:
    """Return a local path holding the file at ``uri``, downloading it if needed.

    Args:
        uri: A local path or a ``gs://`` URI. A ``gs://`` object is read through
            the ``/gcs`` FUSE mount when it exists, else downloaded into a new
            temporary directory.

    Returns:
        The local path of the file.

    Raises:
        FileNotFoundError: If the file or object does not exist.
        StorageError: If a download is needed but google-cloud-storage or
            Google Cloud credentials are missing.
    """
    path = local_path_for(uri)
    if path.is_file():
        return path
    if not is_gcs_uri(uri) or GCS_FUSE_ROOT.is_dir():
        # With Cloud Storage FUSE mounted, a missing path is a missing object.
        raise FileNotFoundError(f"no such file: {uri}")
    return _download(uri)


def _download(uri: str) -> Path:
    """Download one Cloud Storage object into a fresh temporary directory."""
    try:
        import google.cloud.storage as storage
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise StorageError(f"cannot read {uri}: google-cloud-storage is not installed") from exc
    bucket_name, obj = split_gcs_uri(uri)
    if not obj or obj.endswith("/"):
        raise FileNotFoundError(f"{uri} names a bucket or folder, not a file")
    try:
        client = storage.Client()
    except auth_exceptions.DefaultCredentialsError as exc:
        raise StorageError(
            f"cannot read {uri}: no Google Cloud credentials were found and /gcs is not "
            "mounted; run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS, or pass a local path instead"
        ) from exc
    dest = Path(tempfile.mkdtemp(prefix="trainer-gcs-")) / Path(obj).name
    try:
        client.bucket(bucket_name).blob(obj).download_to_filename(str(dest))
    except api_exceptions.NotFound as exc:
        raise FileNotFoundError(f"no such Cloud Storage object: {uri}") from exc
    return dest


def prepare_output_dir(uri: str) -> Path:
    """Create an output directory and return the local path to write it through.

    Args:
        uri: A local directory or a ``gs://`` URI. A ``gs://`` URI is written through the
            ``/gcs`` FUSE mount where there is one (Vertex AI), else into a local staging
            directory that :func:`publish_output_dir` uploads with the Cloud Storage API.

    Returns:
        The local path of the (now existing) directory.

    Raises:
        ValueError: If ``uri`` is empty.
    """
    if not uri:
        raise ValueError("output_dir must not be empty; give a local directory or a gs:// URI")
    path = _fuse_path(uri)
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="trainer-out-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish_output_dir(uri: str, path: Path) -> None:
    """Upload a staged output directory to ``uri`` (nothing to do for a local or FUSE path)."""
    if _fuse_path(uri) is None:
        upload_tree(path, uri)


def _client() -> object:
    """A Cloud Storage client (honours ``STORAGE_EMULATOR_HOST``)."""
    try:
        import google.cloud.storage as storage
        from google.auth import exceptions as auth_exceptions
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise StorageError("google-cloud-storage is not installed") from exc
    try:
        return storage.Client()
    except auth_exceptions.DefaultCredentialsError as exc:
        raise StorageError(
            "no Google Cloud credentials were found and /gcs is not mounted; run "
            "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from exc


def _fuse_path(uri: str) -> Path | None:
    """The ``/gcs`` path of ``uri`` when Cloud Storage FUSE is mounted, else None."""
    if not is_gcs_uri(uri):
        return Path(uri)
    return local_path_for(uri) if GCS_FUSE_ROOT.is_dir() else None


def write_text(uri: str, text: str) -> None:
    """Write a text file at a local path or ``gs://`` URI (through /gcs, else the API).

    Args:
        uri: Where to write.
        text: The content (UTF-8).
    """
    path = _fuse_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    bucket, obj = split_gcs_uri(uri)
    _client().bucket(bucket).blob(obj).upload_from_string(  # type: ignore[attr-defined]
        text, content_type="application/json" if uri.endswith(".json") else "text/plain"
    )


def read_text(uri: str) -> str:
    """Read a text file at a local path or ``gs://`` URI.

    Raises:
        FileNotFoundError: If it does not exist.
    """
    return fetch(uri).read_text(encoding="utf-8")


def list_files(uri: str) -> list[str]:
    """The files directly or indirectly under a directory, as URIs of the same form, sorted.

    Args:
        uri: A local directory or ``gs://`` prefix; missing means no files.
    """
    path = _fuse_path(uri)
    if path is not None:
        if not path.is_dir():
            return []
        return sorted(
            str(p) if not is_gcs_uri(uri) else join_uri(uri, str(p.relative_to(path)))
            for p in path.rglob("*")
            if p.is_file()
        )
    bucket, prefix = split_gcs_uri(uri.rstrip("/") + "/")
    blobs = _client().list_blobs(bucket, prefix=prefix)  # type: ignore[attr-defined]
    return sorted(f"{GCS_PREFIX}{bucket}/{blob.name}" for blob in blobs)


def upload_tree(local_dir: Path, uri: str) -> int:
    """Copy every file under ``local_dir`` to the ``gs://`` directory ``uri``.

    Returns:
        How many files were uploaded.
    """
    bucket_name, prefix = split_gcs_uri(uri.rstrip("/") + "/")
    bucket = _client().bucket(bucket_name)  # type: ignore[attr-defined]
    count = 0
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        bucket.blob(prefix + path.relative_to(local_dir).as_posix()).upload_from_filename(str(path))
        count += 1
    return count


def bucket_location(uri: str) -> str:
    """The location of a ``gs://`` URI's bucket, lower-case (``europe-north1``, ``eu``, ``us``).

    Raises:
        StorageError: The bucket cannot be read.
    """
    bucket_name, _ = split_gcs_uri(uri)
    try:
        bucket = _client().get_bucket(bucket_name)  # type: ignore[attr-defined]
    except StorageError:
        raise
    except Exception as exc:  # the API's own errors: not found, forbidden
        raise StorageError(f"cannot read the location of bucket {bucket_name}: {exc}") from exc
    return str(bucket.location or "").lower()


def object_size(uri: str) -> int | None:
    """Size in bytes of a local file or ``gs://`` object; None if it cannot be read."""
    if not is_gcs_uri(uri):
        path = Path(uri)
        return path.stat().st_size if path.is_file() else None
    bucket_name, name = split_gcs_uri(uri)
    try:
        blob = _client().bucket(bucket_name).get_blob(name)  # type: ignore[attr-defined]
    except Exception:  # the size only refines the data-movement term; never fail a run on it
        return None
    return None if blob is None or blob.size is None else int(blob.size)

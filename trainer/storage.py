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
    if not is_gcs_uri(uri):
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
    """Create an output directory and return its local path.

    Args:
        uri: A local directory or a ``gs://`` URI. A ``gs://`` URI is written
            through the ``/gcs`` FUSE mount, which must exist.

    Returns:
        The local path of the (now existing) directory.

    Raises:
        ValueError: If ``uri`` is empty, or is a ``gs://`` URI and ``/gcs`` is not
            mounted (writing there would silently stay on the local disk).
    """
    if not uri:
        raise ValueError("output_dir must not be empty; give a local directory or a gs:// URI")
    if is_gcs_uri(uri) and not GCS_FUSE_ROOT.is_dir():
        raise ValueError(
            f"output_dir {uri} is a Cloud Storage URI, but Cloud Storage FUSE is not "
            f"mounted at {GCS_FUSE_ROOT} (Vertex AI mounts it); use a local directory here"
        )
    path = local_path_for(uri)
    path.mkdir(parents=True, exist_ok=True)
    return path

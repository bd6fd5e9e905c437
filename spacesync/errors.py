"""The exception tree of spacesync, arranged by cause.

Every error spacesync raises is a :class:`SpacesError`. S3 error replies become
:class:`S3Error` subclasses through :func:`s3_error_from`, the single place that
maps S3 error codes to exception types; the retry policy and the CLI decide what
to do from the type alone.
"""

from __future__ import annotations


class SpacesError(Exception):
    """Root of every error spacesync raises on purpose."""


class ConfigError(SpacesError):
    """Bad usage or configuration: missing endpoint, credentials, bad URL (exit code 2)."""


class TransportError(SpacesError):
    """The request did not get a complete HTTP reply: worth retrying unless said otherwise."""


class ConnectError(TransportError):
    """No connection could be opened (refused, DNS failure, unreachable)."""


class ConnectionClosed(TransportError):
    """The connection broke mid-request or mid-body (reset, disconnect, truncated body)."""


class NetworkTimeout(TransportError):
    """The connection or the read timed out."""


class TLSVerificationError(TransportError):
    """The server's certificate was refused; never retried, since retrying cannot fix it."""


class MalformedResponse(SpacesError):
    """The server replied, but not with what S3 promises (bad XML, missing fields, bad range)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class IntegrityError(SpacesError):
    """Bytes did not match their checksum or ETag: data was corrupted on the way."""


class SourceChanged(SpacesError):
    """The local file or remote object changed while it was being transferred."""


class UnsafeKey(SpacesError):
    """A key that would write outside the destination directory (``..``, absolute, ``\\``,
    NUL): refused, never followed."""


class LocalFileError(SpacesError):
    """A local file could not be read or written (missing, permission, disk full)."""

    @classmethod
    def from_os(cls, error: OSError, *, where: object) -> LocalFileError:
        """The one spelling of an OS failure: where, then the OS's reason."""
        return cls(f"{where}: {error.strerror or error}")


class S3Error(SpacesError):
    """An error reply from the server, with everything needed to report it in one line."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        resource: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.resource = resource
        self.extra: dict[str, str] = dict(extra or {})
        #: The S3 operation that got this reply (``PutBucketLogging``), set by the client.
        self.operation: str | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only fields when pickled (e.g. across process pools).
        return (
            _rebuild_s3_error,
            (
                type(self),
                self.code,
                self.message,
                self.status,
                self.request_id,
                self.resource,
                self.extra,
            ),
        )


def _rebuild_s3_error(
    cls: type[S3Error],
    code: str,
    message: str,
    status: int,
    request_id: str | None,
    resource: str | None,
    extra: dict[str, str],
) -> S3Error:
    return cls(code, message, status=status, request_id=request_id, resource=resource, extra=extra)


class NotFound(S3Error):
    """NoSuchKey, NoSuchBucket, NoSuchUpload, NoSuchVersion… or a bare 404."""


class AccessDenied(S3Error):
    """The identity may not do this, or its key or signature is wrong."""


class PreconditionFailed(S3Error):
    """If-Match and friends did not hold: the object is not the one we pinned."""


class NotModified(S3Error):
    """If-None-Match / If-Modified-Since matched: nothing to fetch."""


class InvalidRequest(S3Error):
    """A 4xx that no retry can fix: a malformed request or an argument S3 refused."""


class Conflict(S3Error):
    """The resource forbids the operation in its state (BucketNotEmpty, BucketAlreadyExists)."""


class ClockSkew(S3Error):
    """RequestTimeTooSkewed: our clock is too far from the server's."""


class Throttled(S3Error):
    """SlowDown / 503: back off, and slow the whole endpoint down."""


class ServerError(S3Error):
    """5xx or InternalError: a fault on the server's side, worth retrying."""


class RequestTimeout(S3Error):
    """S3's own RequestTimeout (400): the server gave up waiting for our body."""


class NotImplementedByEndpoint(S3Error):
    """The endpoint does not support this operation (Spaces rejects several S3 features so)."""


_BY_CODE: dict[str, type[S3Error]] = {
    "NoSuchKey": NotFound,
    "NoSuchBucket": NotFound,
    "NoSuchUpload": NotFound,
    "NoSuchVersion": NotFound,
    "NoSuchLifecycleConfiguration": NotFound,
    "NoSuchCORSConfiguration": NotFound,
    "NoSuchBucketPolicy": NotFound,
    "NoSuchTagSet": NotFound,
    "NoSuchWebsiteConfiguration": NotFound,
    "NotFound": NotFound,
    "AccessDenied": AccessDenied,
    "SignatureDoesNotMatch": AccessDenied,
    "InvalidAccessKeyId": AccessDenied,
    "AllAccessDisabled": AccessDenied,
    "ExpiredToken": AccessDenied,
    "InvalidToken": AccessDenied,
    "Forbidden": AccessDenied,
    "PreconditionFailed": PreconditionFailed,
    "NotModified": NotModified,
    "BucketNotEmpty": Conflict,
    "BucketAlreadyExists": Conflict,
    "BucketAlreadyOwnedByYou": Conflict,
    "OperationAborted": Conflict,
    "RequestTimeTooSkewed": ClockSkew,
    "SlowDown": Throttled,
    "ServiceUnavailable": Throttled,
    "TooManyRequests": Throttled,
    "RequestLimitExceeded": Throttled,
    "InternalError": ServerError,
    "BadGateway": ServerError,
    "GatewayTimeout": ServerError,
    "RequestTimeout": RequestTimeout,
    "NotImplemented": NotImplementedByEndpoint,
}

_BY_STATUS: dict[int, type[S3Error]] = {
    304: NotModified,
    401: AccessDenied,
    403: AccessDenied,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: Throttled,
    501: NotImplementedByEndpoint,
    503: Throttled,
}


#: Codes that say the same of every request a job would make (its bucket or its credentials
#: are wrong, not one object): a job stops at the first rather than failing each file alike.
_JOB_WIDE_CODES = frozenset(
    {
        "NoSuchBucket",
        "InvalidBucketName",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "ExpiredToken",
    }
)


def fails_every_request(error: BaseException) -> bool:
    """Whether ``error`` would recur on every other request of the same job."""
    return isinstance(error, S3Error) and error.code in _JOB_WIDE_CODES


def s3_error_from(
    code: str,
    message: str,
    *,
    status: int,
    request_id: str | None = None,
    resource: str | None = None,
    extra: dict[str, str] | None = None,
) -> S3Error:
    """Build the typed exception for an S3 error reply: by code first, then by HTTP status."""
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else InvalidRequest
    return cls(code, message, status=status, request_id=request_id, resource=resource, extra=extra)


def status_code_name(status: int) -> str:
    """The code to report for a body-less error reply (HEAD, or an empty body)."""
    return {
        304: "NotModified",
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        412: "PreconditionFailed",
        416: "InvalidRange",
        500: "InternalError",
        501: "NotImplemented",
        503: "SlowDown",
    }.get(status, f"HTTP{status}")

"""Domain errors raised by the core; the CLI, API and bot translate them at their edges."""

from __future__ import annotations


class WendaError(Exception):
    """Base class. ``message`` is user-facing (Chinese first, English for developers)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidQuestionError(WendaError):
    """The question (or its options) cannot be asked; subclasses say why, as data."""


class EmptyQuestionError(InvalidQuestionError):
    def __init__(self) -> None:
        super().__init__("问题不能为空 (the question is empty)")


class QuestionTooLongError(InvalidQuestionError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"问题太长：{length} 个字符，最多 {limit} 个。 "
            f"The question is too long: {length} characters, at most {limit}."
        )
        self.length = length
        self.limit = limit


class TopKOutOfRangeError(InvalidQuestionError):
    def __init__(self, value: int, low: int, high: int) -> None:
        super().__init__(f"top_k 必须在 {low} 到 {high} 之间 (top_k {value} out of {low}..{high})")
        self.value = value
        self.low = low
        self.high = high


class IndexNotReadyError(WendaError):
    """No usable published index (none yet, or built with another model)."""


class CorpusNotFoundError(WendaError):
    """The configured corpus folder does not exist or is not a folder."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"找不到文档文件夹：{path}（请检查 WENDA_CORPUS_DIR 或 --corpus-dir）。 "
            f"Corpus folder not found: {path}"
        )
        self.path = path


class DocumentNotFoundError(WendaError):
    """A document id that the index does not know."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"没有这个文档 (no document {doc_id!r})")
        self.doc_id = doc_id


class InvalidSpanError(WendaError):
    """A requested character span lies outside the document."""

    def __init__(self, start: int, end: int, length: int) -> None:
        super().__init__(
            f"字符范围无效：文档长度 {length} (span {start}..{end} outside 0..{length})"
        )
        self.start = start
        self.end = end
        self.length = length


class BuildInProgressError(WendaError):
    """Another process or thread is already building the index."""


class ModelLoadError(WendaError):
    """The embedding model could not be loaded or converted."""


class UnreadableDocumentError(WendaError):
    """A file that cannot become a document (binary, empty, corrupt, too big, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IndexDamagedError(IndexNotReadyError):
    """An index version that is missing, incomplete or fails its integrity checks."""

    def __init__(self, version: str, reason: str) -> None:
        super().__init__(
            f"索引版本 {version} 已损坏：{reason} (index version {version} is damaged)"
        )
        self.version = version
        self.reason = reason


class StoreUnavailableError(WendaError):
    """The index backend (a Milvus server) cannot be reached; ``uri`` says which one."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(
            f"无法连接 Milvus：{uri}（请检查 WENDA_MILVUS_URI 和服务器）。 "
            f"Cannot reach Milvus at {uri}: {reason}"
        )
        self.uri = uri
        self.reason = reason


class IndexWriteError(WendaError):
    """Writing a new index version failed for an operational reason (disk full, read-only).

    ``reason`` is one of ``WRITE_REASONS``; nothing was published, so the version that
    served before (``serving``, None when there is none) still serves.
    """

    def __init__(
        self, path: str, reason: str, detail: str = "", serving: str | None = None
    ) -> None:
        zh, en = WRITE_REASONS.get(reason, WRITE_REASONS["io_error"])
        still = (
            f"之前的索引版本 {serving} 仍在使用 / previous version {serving} still serving"
            if serving
            else "尚无可用的索引版本 / no previous version to serve"
        )
        super().__init__(f"索引写入失败：{zh}（{path}）；{still}。 Index write failed: {en}")
        self.path = path
        self.reason = reason
        self.detail = detail
        self.serving = serving


WRITE_REASONS = {
    "disk_full": ("磁盘已满", "disk full"),
    "read_only": ("索引目录只读", "read-only file system"),
    "permission_denied": ("没有写入权限", "permission denied"),
    "io_error": ("磁盘读写错误", "I/O error"),
}

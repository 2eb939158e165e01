"""The words and times on the ``/verify`` page, zh-CN first, English available."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.i18n import beijing_time

TEXT: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "title": "电子印章验证",
        "brand": "通行 · 电子印章",
        "switch": "English",
        "intro": "上传盖章的 PDF 文件，检查印章是否真实有效、文件是否被篡改。",
        "upload": "选择 PDF 文件",
        "submit": "验证",
        "record": "登记信息（扫码验真）",
        "record_intro": "本系统的盖章登记如下。请上传您手中的文件，核对其与登记一致。",
        "document_id": "文件编号",
        "sealed_at": "盖章时间",
        "seal": "印章",
        "organisation": "单位",
        "uscc": "统一社会信用代码",
        "level": "签名级别",
        "signing_time": "签名时间",
        "timestamp": "可信时间戳",
        "revocation": "证书状态",
        "changes": "盖章后的修改",
        "altered": "文件内容在盖章后被改动，与印章不符",
        "audit": "审计日志",
        "audit_ok": "已记录（第 {index} 条，包含证明已验证）",
        "audit_missing": "未在本系统审计日志中找到",
        "chain": "证书链",
        "result": "验证结果",
        "detail": "技术结论",
        "no_record": "没有找到该文件的登记。",
        "seal_status": "印章状态",
        "seal_statuses": {"active": "有效", "suspended": "已暂停", "revoked": "已吊销"},
        "status": {
            "good": "有效",
            "revoked": "已吊销",
            "on_hold": "已暂停",
            "unknown": "无法确认",
            "not_checked": "未查询（证书不受信任）",
        },
        "change": {
            "none": "无",
            "revocation_data": "仅添加了验证数据",
            "form_filling": "填写了表单",
            "annotations": "添加了批注",
            "other": "其他修改",
        },
        "indication": {
            "TOTAL_PASSED": "有效",
            "INDETERMINATE": "无法确定",
            "TOTAL_FAILED": "无效",
        },
        "summary": {
            "TOTAL_PASSED": "文件中的电子印章均有效。",
            "INDETERMINATE": "无法确定文件中的电子印章是否有效，原因见下文。",
            "TOTAL_FAILED": "文件中有无效的电子印章，请不要信任这份文件。",
        },
        "bad_form": "页面已过期，请重新上传。",
        "errors": {
            "empty": "上传的文件是空的。请选择盖章后的 PDF 文件。",
            "not-a-pdf": "上传的文件不是 PDF 文件。请选择盖章后的 PDF 文件。",
            "malformed-pdf": "无法读取这个 PDF 文件，文件可能已损坏。",
            "encrypted-pdf": "这个 PDF 文件已加密，无法验证。请上传未加密的文件。",
            "pdf-too-large": "文件太大，最大允许 {size}。",
            "pdf-too-complex": "文件中的签名或修订版本太多，无法在线验证。",
            "too-many-requests": "验证次数过多，请一分钟后再试。",
            "other": "无法验证这个文件，请稍后再试。",
        },
    },
    "en": {
        "title": "Verify an electronic seal",
        "brand": "Tongxing · Electronic seals",
        "switch": "中文",
        "intro": "Upload a sealed PDF to check that its seal is genuine and valid and that the "
        "document was not altered.",
        "upload": "Choose a PDF",
        "submit": "Verify",
        "record": "Our record (from the QR code)",
        "record_intro": "This is what we recorded. Upload the document you hold to check that "
        "it matches.",
        "document_id": "Document id",
        "sealed_at": "Sealed at",
        "seal": "Seal",
        "organisation": "Organisation",
        "uscc": "Unified social credit code",
        "level": "Signature level",
        "signing_time": "Signing time",
        "timestamp": "Trusted timestamp",
        "revocation": "Certificate status",
        "changes": "Changes after sealing",
        "altered": "The document's content was changed after sealing and no longer matches "
        "the seal",
        "audit": "Audit log",
        "audit_ok": "Recorded (entry {index}, inclusion proof verified)",
        "audit_missing": "Not found in this service's audit log",
        "chain": "Certificate chain",
        "result": "Result",
        "detail": "Technical result",
        "no_record": "There is no record of this document.",
        "seal_status": "Seal status",
        "seal_statuses": {"active": "active", "suspended": "suspended", "revoked": "revoked"},
        "status": {
            "good": "valid",
            "revoked": "revoked",
            "on_hold": "suspended",
            "unknown": "cannot be confirmed",
            "not_checked": "not checked (the certificate is not trusted)",
        },
        "change": {
            "none": "none",
            "revocation_data": "validation data added only",
            "form_filling": "form fields filled in",
            "annotations": "comments added",
            "other": "other changes",
        },
        "indication": {
            "TOTAL_PASSED": "Valid",
            "INDETERMINATE": "Cannot be determined",
            "TOTAL_FAILED": "Not valid",
        },
        "summary": {
            "TOTAL_PASSED": "Every electronic seal in the document is valid.",
            "INDETERMINATE": "Whether the seals in the document are valid cannot be "
            "determined; see why below.",
            "TOTAL_FAILED": "The document carries a seal that is not valid; do not rely on it.",
        },
        "bad_form": "The page expired; please upload again.",
        "errors": {
            "empty": "The uploaded file is empty. Please choose the sealed PDF.",
            "not-a-pdf": "The uploaded file is not a PDF. Please choose the sealed PDF.",
            "malformed-pdf": "This PDF cannot be read; the file may be damaged.",
            "encrypted-pdf": "This PDF is encrypted and cannot be verified. Please upload the "
            "unencrypted file.",
            "pdf-too-large": "The file is too large: at most {size}.",
            "pdf-too-complex": "The file has too many signatures or revisions to verify online.",
            "too-many-requests": "Too many verifications; please try again in a minute.",
            "other": "This file cannot be verified; please try again later.",
        },
    },
}


def upload_error(lang: str, kind: str, *, limit_bytes: int) -> str:
    """What a person reads when their upload cannot be verified (``kind``: a problem kind of
    ``seal.errors``, or ``empty``)."""
    errors = TEXT[lang]["errors"]
    text: str = errors.get(kind, errors["other"])
    if limit_bytes >= 1 << 20:
        size = f"{limit_bytes / (1 << 20):.3g} MB"
    else:
        size = f"{max(1, limit_bytes // 1024)} KB"
    return text.format(size=size)


def report_time(value: str | None, lang: str) -> str:
    """An ISO 8601 UTC time of a report (``2026-12-04T10:30:05Z``) in Beijing time with the
    zone said (see ``core.i18n.beijing_time``). Empty for no time."""
    if not value:
        return ""
    return beijing_time(datetime.fromisoformat(value.replace("Z", "+00:00")), lang)

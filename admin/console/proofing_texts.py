"""The console's words for identity proofing and identity numbers (merged into TEXT)."""

from __future__ import annotations

from typing import Any

ZH: dict[str, Any] = {
    "proofing_methods": {
        "self": "自报",
        "authority": "权威核验",
        "face": "人脸核验",
        "counter": "现场核验",
        "upstream": "上级平台核验",
    },
    "proofing_in_person": "现场核验（L4）",
    "proofing_in_person_intro": "此人已持身份证件到服务窗口当面核验时记录。不能为自己记录。",
    "proofing_note": "核验说明（查验的证件等，记入审计日志）",
    "proofing_in_person_submit": "记录现场核验",
    "proofing_lower": "降低身份核验等级",
    "proofing_lower_to": "降至",
    "proofing_lower_submit": "降低等级",
    "reveal_title": "查看完整身份证号",
    "reveal_intro": "查看完整号码本身会记入审计日志，请说明原因。",
    "reveal_submit": "显示",
    "min_acr": "最低认证等级",
}
EN: dict[str, Any] = {
    "proofing_methods": {
        "self": "self-declared",
        "authority": "confirmed by the authority",
        "face": "face check",
        "counter": "in person at a counter",
        "upstream": "vouched for by an upstream platform",
    },
    "proofing_in_person": "In-person check (L4)",
    "proofing_in_person_intro": "Record it once the person showed their identity document at a "
    "service counter. Nobody records their own.",
    "proofing_note": "What was checked (document…; goes into the audit log)",
    "proofing_in_person_submit": "Record the in-person check",
    "proofing_lower": "Lower the identity level",
    "proofing_lower_to": "Lower to",
    "proofing_lower_submit": "Lower the level",
    "reveal_title": "Show the full identity number",
    "reveal_intro": "Looking at the full number is itself recorded in the audit log; say why.",
    "reveal_submit": "Show",
    "min_acr": "Minimum level of assurance",
}

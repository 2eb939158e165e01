"""The console's words for a person's sign-in factors (zh-CN and en, the same keys)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "第二登录方式",
        "none": "此人没有第二登录方式。",
        "kind_totp": "身份验证器（动态码）",
        "kind_passkey": "通行密钥",
        "name": "名称",
        "kind": "类型",
        "created": "添加时间",
        "last_used": "最近使用",
        "never": "从未使用",
        "enrol": "为此人添加身份验证器",
        "enrol_intro": "用于尚无法自行登录的人员：生成的二维码和链接只显示一次，请当面交给本人。",
        "enrolled_title": "身份验证器已添加",
        "enrolled_once": "请让本人立即用身份验证器应用扫描此二维码：二维码和链接只显示这一次，"
        "关闭本页后无法再次查看。",
        "qr": "身份验证器二维码",
        "uri": "otpauth 链接",
        "reset": "移除全部第二登录方式和恢复码",
        "reset_intro": "仅在当面核实本人身份后使用（例如本人丢失手机）。此操作将记入审计日志。",
        "reset_reason": "核实方式（必填）",
        "back": "返回人员页面",
    },
    "en": {
        "title": "Second sign-in methods",
        "none": "This person has no second sign-in method.",
        "kind_totp": "Authenticator app (codes)",
        "kind_passkey": "Passkey",
        "name": "Name",
        "kind": "Kind",
        "created": "Added",
        "last_used": "Last used",
        "never": "Never",
        "enrol": "Add an authenticator app for this person",
        "enrol_intro": "For people who cannot sign in yet: the QR code and link are shown "
        "once; hand them to the person in person.",
        "enrolled_title": "Authenticator app added",
        "enrolled_once": "Have the person scan this QR code with their authenticator app now: "
        "the QR code and link are shown this once and cannot be seen again.",
        "qr": "Authenticator QR code",
        "uri": "otpauth link",
        "reset": "Remove every second sign-in method and recovery code",
        "reset_intro": "Only after checking the person in person (for example a lost "
        "phone). This is recorded in the audit log.",
        "reset_reason": "How the person was checked (required)",
        "back": "Back to the person",
    },
}

"""Words of CAS sign-in for legacy department apps (CAS 3.0)."""

TEXT = {
    "zh-CN": {
        "cas_unregistered_service": "该应用地址未在统一身份认证登记，无法为其登录。"
        "请从部门应用的正式入口进入，或联系应用管理员。",
        "cas_unmet_level": "该应用要求更高的可信等级，"
        "您的账号目前无法达到（例如尚未完成实名核验）。",
        "cas_session_ended": "登录已结束，请返回应用重新登录。",
        "cas_bad_request": "登录请求无效：",
        "cas_unavailable": "统一身份认证暂时无法处理登录，请稍后再试。",
    },
    "en": {
        "cas_unregistered_service": "This application address is not registered with the "
        "identity service, so we cannot sign you in to it. Use the department app's official "
        "entry point, or contact its administrator.",
        "cas_unmet_level": "This application needs a higher level of assurance than your "
        "account can reach now (for example, your real name is not verified yet).",
        "cas_session_ended": "The sign-in has ended. Go back to the application and sign in again.",
        "cas_bad_request": "The sign-in request is invalid: ",
        "cas_unavailable": "The identity service cannot sign you in right now. Try again in a "
        "few seconds.",
    },
}

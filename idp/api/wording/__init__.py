"""The words of the IdP's feature pages, one module per feature (``TEXT`` in each, zh-CN and
en), merged into :data:`idp.api.texts.TEXT`; a key defined twice is an error at import."""

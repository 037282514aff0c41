"""One pydantic model per wire shape of the local workspace, with the wire's field names.

The names are databricks-sdk's (``databricks.sdk.service.serving`` and ``…catalog``), so a
reader can hold each model against the SDK dataclass it mirrors. FastAPI builds the
OpenAPI document from these; routes parse requests and answer with them.
"""
